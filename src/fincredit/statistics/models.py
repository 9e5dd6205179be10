"""Indexes the statistics figures need on other capabilities' facts: every flow figure selects one
period by the fact's own time, so each of those times is indexed. No tables of our own — the figures
are computed from the facts, never from counters or copies that could drift.

The registrations figure and the month series fully join the registration base with the accounts; on
PostgreSQL the two covering indexes let that join be a merge of two index-only scans in ``uscc`` order
(1.7× faster than hashing the 2 M-row base at province scale, see docs/benchmarks.md)."""

from __future__ import annotations

from sqlalchemy import Index

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.disclosure.models import Disclosure
from fincredit.objections.models import Objection
from fincredit.registry.models import Account, Enterprise

STATISTICS_INDEXES = (
    Index("ix_statistics_authorizations_created", Authorization.created_at),
    Index("ix_statistics_authorizations_revoked", Authorization.revoked_at),
    Index("ix_statistics_authorization_uses_used", AuthorizationUse.used_at),
    Index("ix_statistics_disclosures_created", Disclosure.created_at),
    Index("ix_statistics_objections_filed", Objection.filed_at),
    Index("ix_statistics_enterprises_dimensions", Enterprise.uscc,
          postgresql_include=["region_code", "industry_code", "size_class", "status"]),
    Index("ix_statistics_accounts_created", Account.uscc, postgresql_include=["created_at"]),
)
