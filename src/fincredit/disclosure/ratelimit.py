"""Per-institution rate limit (anti-scraping): a token bucket per institution, in process memory.

Each API process keeps its own buckets, so with N processes an institution may reach N times the
configured rate; the scraping alert (``service.check_scraping``) works from the database and is
exact across processes. Over the limit: 429 ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated

from fastapi import Depends
from starlette.exceptions import HTTPException

from fincredit.auth.service import Principal
from fincredit.db import CACHE_CLEARERS
from fincredit.disclosure.config import get_disclosure_settings
from fincredit.web.deps import require_institution


class TokenBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill time)

    def take(self, key: str, per_minute: int, burst: int, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


BUCKETS = TokenBuckets()
CACHE_CLEARERS.append(BUCKETS.clear)


def rate_limited_institution(principal: Principal) -> Principal:
    """Take one token for the institution, or raise 429 (also called by the institution portal's pages)."""
    settings = get_disclosure_settings()
    wait = BUCKETS.take(f"{principal.role.value}:{principal.subject}", settings.institution_rate_per_minute,
                        settings.institution_rate_burst or settings.institution_rate_per_minute)
    if wait > 0:
        raise HTTPException(429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return principal


async def _rate_limited_institution(principal: Annotated[Principal, Depends(require_institution)]) -> Principal:
    # async: memory only (the buckets' lock is held for microseconds), so no thread-pool hop.
    return rate_limited_institution(principal)


RateLimitedInstitutionDep = Annotated[Principal, Depends(_rate_limited_institution)]
