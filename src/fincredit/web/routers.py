"""The capabilities' routers, in the order they appear in the OpenAPI document.

Each capability exposes ``router`` (JSON API, mounted under /api/v1) in its ``endpoints.py``
and optionally ``router`` in ``pages.py`` (HTML). Add a capability by adding its module here.
"""

API_MODULES: list[str] = [
    "fincredit.catalog.endpoints",
    "fincredit.ledger.endpoints",
    "fincredit.objections.calendar_endpoints",
]

PAGE_MODULES: list[str] = []
