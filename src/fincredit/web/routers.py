"""The capabilities' routers, in the order they appear in the OpenAPI document.

Each capability exposes ``router`` (JSON API, mounted under /api/v1) in its ``endpoints.py``
and optionally ``router`` in ``pages.py`` (HTML). Add a capability by adding its module here.
"""

API_MODULES: list[str] = [
    "fincredit.catalog.endpoints",
    "fincredit.collection.endpoints",
    "fincredit.registry.endpoints",
    "fincredit.institutions.endpoints",
    "fincredit.authorization.endpoints",
    "fincredit.disclosure.endpoints",
    "fincredit.evaluation.endpoints",
    "fincredit.ledger.endpoints",
    "fincredit.objections.calendar_endpoints",
    "fincredit.objections.endpoints",
    "fincredit.objections.repair_endpoints",
    "fincredit.sucode.endpoints",
    "fincredit.monitoring.endpoints",
    "fincredit.financing.endpoints",
    "fincredit.worker.endpoints",
    "fincredit.statistics.endpoints",
]

PAGE_MODULES: list[str] = [
    "fincredit.web.pages.public",
    "fincredit.web.pages.auth",
    "fincredit.web.pages.enterprise",
    "fincredit.web.pages.enterprise_authorizations",
    "fincredit.web.pages.enterprise_objections",
    "fincredit.web.pages.enterprise_financing",
    "fincredit.web.pages.institution",
    "fincredit.web.pages.institution_monitoring",
    "fincredit.web.pages.institution_financing",
    "fincredit.web.pages.institution_products",
    "fincredit.web.pages.operator",
    "fincredit.web.pages.operator_collection",
    "fincredit.web.pages.operator_institutions",
    "fincredit.web.pages.operator_objections",
    "fincredit.web.pages.operator_statistics",
    "fincredit.web.pages.operator_evaluation",
    "fincredit.web.pages.provider",
    "fincredit.sucode.pages",
]
