"""Background jobs of the portals: expired sessions are deleted hourly (they are refused on sight anyway)."""

from __future__ import annotations

from fincredit.web.sessions import purge_expired
from fincredit.worker.registry import register_periodic

register_periodic("web.purge_expired_sessions", 3600, purge_expired)
