"""Server-side portal sessions: cookie, CSRF token, expiry, and the credential behind the session.

The cookie carries a 256-bit random value; the table keeps only its SM3 digest. Cookies are
HttpOnly and SameSite=Lax, Secure over https (``FINCREDIT_WEB_COOKIE_SECURE``). Every POST form
carries the session's CSRF token; forms shown before log-in use a double-submit cookie instead.
Services never commit; neither does this module.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fincredit.auth.models import ApiToken, Role
from fincredit.auth.service import Principal
from fincredit.crypto import constant_time_equal, token_hash
from fincredit.db import as_utc, utcnow
from fincredit.web.config import get_web_settings
from fincredit.web.models import WebSession

SESSION_COOKIE = "fc_session"
ANON_CSRF_COOKIE = "fc_csrf"
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class PortalUser:
    """The principal behind a portal session, with what the pages show and check."""

    principal: Principal
    display_name: str
    csrf_token: str
    session_id: int

    @property
    def role(self) -> str:
        return self.principal.role.value

    @property
    def subject(self) -> str:
        return self.principal.subject


def cookie_secure(request: Request) -> bool:
    mode = get_web_settings().cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=cookie_secure(request))


def open_session(session: Session, request: Request, response: Response, *, role: Role, subject: str,
                 display_name: str, token_id: int | None = None) -> WebSession:
    """Start a session (a fresh id on every log-in: no fixation) and set its cookie."""
    settings = get_web_settings()
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        session.execute(delete(WebSession).where(WebSession.session_hash == token_hash(old)))
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(session_hash=token_hash(raw), role=role.value, subject=subject[:64],
                     display_name=display_name[:200], csrf_token=secrets.token_urlsafe(32), token_id=token_id,
                     user_agent=request.headers.get("user-agent", "")[:200], created_at=now,
                     expires_at=now + dt.timedelta(hours=settings.session_hours), last_seen_at=now)
    session.add(row)
    session.flush()
    _set_cookie(request, response, SESSION_COOKIE, raw, int(settings.session_hours * 3600))
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")
    return row


def _credential_valid(session: Session, token_id: int | None, now: dt.datetime) -> bool:
    if token_id is None:
        return True
    token = session.get(ApiToken, token_id)
    return (token is not None and token.revoked_at is None
            and (token.expires_at is None or as_utc(token.expires_at) > now))


def load_session(session: Session, request: Request) -> WebSession | None:
    """The live session of this request, or None (expired, idle, unknown, credential revoked)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 100:
        return None
    row = session.scalar(select(WebSession).where(WebSession.session_hash == token_hash(raw)))
    if row is None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=get_web_settings().idle_minutes)
    if (as_utc(row.expires_at) <= now or as_utc(row.last_seen_at) + idle <= now
            or not _credential_valid(session, row.token_id, now)):
        session.delete(row)
        session.flush()
        return None
    if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def portal_user(row: WebSession) -> PortalUser:
    principal = Principal(role=Role(row.role), subject=row.subject, token_id=row.token_id,
                          name=row.display_name or row.subject)
    return PortalUser(principal=principal, display_name=row.display_name, csrf_token=row.csrf_token,
                      session_id=row.id)


def close_session(session: Session, request: Request, response: Response) -> WebSession | None:
    """Log out: delete the row and the cookie; returns the deleted row (its token is revoked by the caller)."""
    raw = request.cookies.get(SESSION_COOKIE)
    row = None
    if raw and len(raw) <= 100:
        row = session.scalar(select(WebSession).where(WebSession.session_hash == token_hash(raw)))
        if row is not None:
            session.delete(row)
            session.flush()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return row


def purge_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete sessions past their lifetime or idle too long (a periodic job; they are refused anyway)."""
    now = now or utcnow()
    idle_since = now - dt.timedelta(minutes=get_web_settings().idle_minutes)
    result = session.execute(delete(WebSession).where(
        (WebSession.expires_at <= now) | (WebSession.last_seen_at <= idle_since)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- CSRF ---------------------------------------------------------------------------------------

def anonymous_csrf(request: Request) -> str:
    """The double-submit token of a visitor who is not logged in (set on the response by ``remember``)."""
    value = request.cookies.get(ANON_CSRF_COOKIE)
    if not value or len(value) > 100:
        value = getattr(request.state, "new_anon_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_anon_csrf = value
    return value


def remember_anonymous_csrf(request: Request, response: Response) -> None:
    value = getattr(request.state, "new_anon_csrf", None)
    if value:
        _set_cookie(request, response, ANON_CSRF_COOKIE, value, 2 * 3600)


def csrf_valid(request: Request, submitted: str | None, user: PortalUser | None) -> bool:
    if not submitted or len(submitted) > 100:
        return False
    expected = user.csrf_token if user is not None else request.cookies.get(ANON_CSRF_COOKIE, "")
    return bool(expected) and constant_time_equal(expected, submitted)
