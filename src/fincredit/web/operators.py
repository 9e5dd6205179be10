"""Operators' accounts of the management portal: Argon2 password plus TOTP (RFC 6238), lock-out.

等保 2.0 level 3 asks for two factors for administrators and for locking an account after
repeated failures. A wrong password or a wrong code counts as one failure; after
``operator_max_failures`` the account is locked for ``operator_lock_minutes``. A TOTP code is
accepted once (its time step is remembered). Never commits: the caller commits — also on failure,
so that the counter and the lock persist.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.crypto import sm4_decrypt, sm4_encrypt
from fincredit.db import as_utc, utcnow
from fincredit.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized, Unprocessable
from fincredit.registry.accounts import check_password_policy, local_time_text
from fincredit.web.config import get_web_settings
from fincredit.web.models import OperatorUser

ISSUER = "江苏省融资信用服务平台"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
TOTP_STEP = 30

_hasher = PasswordHasher()


@lru_cache
def _dummy_hash() -> str:
    return _hasher.hash("timing-equaliser-Aa1!")


def create_operator(session: Session, username: str, password: str) -> tuple[OperatorUser, str]:
    """Create an operator; returns the row and the TOTP secret (shown once, then only stored encrypted)."""
    name = username.strip()
    if not USERNAME_RE.fullmatch(name):
        raise Unprocessable("用户名应为 3–64 位字母、数字或 _ . -", code="bad_username")
    _check_password(name, password)
    if session.scalar(select(OperatorUser.id).where(OperatorUser.username == name)) is not None:
        raise Conflict(f"运营人员“{name}”已存在", code="operator_exists")
    secret = pyotp.random_base32()
    row = OperatorUser(username=name, password_hash=_hasher.hash(password), totp_secret_enc=sm4_encrypt(secret),
                       created_at=utcnow())
    session.add(row)
    session.flush()
    return row, secret


def _check_password(username: str, password: str) -> None:
    check_password_policy(password)
    if username.upper() in password.upper():
        raise Unprocessable("密码强度不足：密码不得包含用户名", code="weak_password")


def provisioning_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_STEP).provisioning_uri(name=username, issuer_name=ISSUER)


def _password_ok(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _totp_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step the code belongs to (current ±1, for clock drift), or None."""
    code = "".join(code.split())
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    step = int(now.timestamp()) // TOTP_STEP
    for candidate in (step, step - 1, step + 1):
        if totp.at(candidate * TOTP_STEP) == code:
            return candidate
    return None


def _invalid() -> Unauthorized:
    return Unauthorized("用户名、密码或动态口令错误", code="invalid_credentials")


def authenticate(session: Session, *, username: str, password: str, code: str,
                 now: dt.datetime | None = None) -> OperatorUser:
    """Check password and TOTP code; raises without saying which factor failed."""
    now = now or utcnow()
    settings = get_web_settings()
    row = session.scalar(select(OperatorUser).where(OperatorUser.username == username.strip()[:64])
                         .with_for_update())
    if row is None:
        _password_ok(_dummy_hash(), password)
        raise _invalid()
    if row.disabled:
        raise Forbidden("该运营人员账户已停用", code="operator_disabled")
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        raise TooManyRequests(f"连续登录失败次数过多，账户已锁定，请于 {local_time_text(row.locked_until)} 之后再试",
                              code="account_locked")
    password_ok = _password_ok(row.password_hash, password)
    step = _totp_step(sm4_decrypt(row.totp_secret_enc), code, now) if password_ok else None
    if not password_ok or step is None or step <= row.last_totp_step:
        row.failed_logins = (row.failed_logins or 0) + 1
        if row.failed_logins >= settings.operator_max_failures:
            row.failed_logins = 0
            row.locked_until = now + dt.timedelta(minutes=settings.operator_lock_minutes)
            raise TooManyRequests(f"连续登录失败次数过多，账户已锁定，请于 {local_time_text(row.locked_until)} 之后再试",
                                  code="account_locked")
        if password_ok and step is not None:
            raise Unauthorized("该动态口令已使用过，请等待下一个口令", code="totp_reused")
        raise _invalid()
    row.failed_logins, row.locked_until, row.last_login_at, row.last_totp_step = 0, None, now, step
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return row


def get_operator(session: Session, username: str) -> OperatorUser:
    row = session.scalar(select(OperatorUser).where(OperatorUser.username == username))
    if row is None:
        raise NotFound(f"运营人员“{username}”不存在", code="operator_not_found")
    return row


def operator_active(session: Session, username: str) -> bool:
    row = session.scalar(select(OperatorUser).where(OperatorUser.username == username))
    return row is not None and not row.disabled


def list_operators(session: Session) -> list[OperatorUser]:
    return list(session.scalars(select(OperatorUser).order_by(OperatorUser.username)))


def unlock(session: Session, username: str) -> OperatorUser:
    row = get_operator(session, username)
    row.failed_logins, row.locked_until = 0, None
    return row


def reset_totp(session: Session, username: str) -> tuple[OperatorUser, str]:
    row = get_operator(session, username)
    secret = pyotp.random_base32()
    row.totp_secret_enc, row.last_totp_step = sm4_encrypt(secret), 0
    return row, secret


def reset_password(session: Session, username: str, password: str) -> OperatorUser:
    _check_password(username, password)
    row = get_operator(session, username)
    row.password_hash, row.failed_logins, row.locked_until = _hasher.hash(password), 0, None
    return row
