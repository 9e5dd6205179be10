from tests.worker.support import fast_settings, workers  # noqa: F401
