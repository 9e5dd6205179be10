"""Imports every capability's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from fincredit.auth import models as auth_models  # noqa: F401
from fincredit.authorization import models as authorization_models  # noqa: F401
from fincredit.catalog import models as catalog_models  # noqa: F401
from fincredit.collection import models as collection_models  # noqa: F401
from fincredit.disclosure import models as disclosure_models  # noqa: F401
from fincredit.evaluation import models as evaluation_models  # noqa: F401
from fincredit.financing import models as financing_models  # noqa: F401
from fincredit.institutions import models as institution_models  # noqa: F401
from fincredit.ledger import models as ledger_models  # noqa: F401
from fincredit.monitoring import models as monitoring_models  # noqa: F401
from fincredit.objections import calendar_models  # noqa: F401
from fincredit.objections import models as objection_models  # noqa: F401
from fincredit.registry import models as registry_models  # noqa: F401
from fincredit.statistics import aggregate as statistics_aggregate  # noqa: F401  (not models: the aggregate's flush hooks)
from fincredit.statistics import models as statistics_models  # noqa: F401
from fincredit.web import models as web_models  # noqa: F401
from fincredit.worker import models as worker_models  # noqa: F401
