"""Imports every capability's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from fincredit.auth import models as auth_models  # noqa: F401
from fincredit.catalog import models as catalog_models  # noqa: F401
from fincredit.collection import models as collection_models  # noqa: F401
from fincredit.ledger import models as ledger_models  # noqa: F401
from fincredit.objections import calendar_models  # noqa: F401
from fincredit.registry import models as registry_models  # noqa: F401
from fincredit.institutions import models as institution_models  # noqa: F401
