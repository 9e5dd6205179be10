"""Shared bits of the institution portal."""

from __future__ import annotations

from fincredit.errors import Forbidden
from fincredit.institutions.service import principal_institution_id
from fincredit.web.sessions import PortalUser

CRUMBS = [("首页", "/"), ("机构端", "/institution")]


def institution_id(user: PortalUser) -> int:
    value = principal_institution_id(user.principal)
    if not value:
        raise Forbidden("无法识别的接入机构", code="unknown_institution")
    return value
