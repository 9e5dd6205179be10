"""Enterprise real-name accounts (实名注册): registration against the registration base, password
log-in with lock-out, and the identity check that follows changes of legal representative.

An account proves that its holder knew the USCC together with the name and ID number of the
enterprise's *current* legal representative (法定代表人). When a newer base batch names another
person, the account's identity is no longer valid: it cannot log in, its tokens stop working,
and the new legal representative re-registers (which also resets the password).
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal, issue_token, revoke_all_for
from fincredit.collection.identifiers import parse_uscc, resident_id_check_digit, resident_id_to_18
from fincredit.collection.values import FieldError
from fincredit.crypto import blind_index, sm4_decrypt
from fincredit.db import as_utc, utcnow
from fincredit.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, Unprocessable
from fincredit.registry.models import Account, Enterprise, Person
from fincredit.settings import get_settings
from fincredit.statistics import aggregate as _statistics_aggregate  # noqa: F401  (registers its flush hooks)

MAX_FAILED_LOGINS = 5
LOCK_DURATION = dt.timedelta(minutes=15)
TOKEN_LIFETIME = dt.timedelta(hours=8)
MIN_PASSWORD_LENGTH = 10
# 登记状态 values of a live enterprise; the base also spells 存续 as "存续（在营、开业、在册）".
LIVE_STATUS_PREFIXES = ("存续", "在业", "在营", "开业", "在册")

_hasher = PasswordHasher()


# -- normalisation and policy (pure) ------------------------------------------------------------

def normalise_uscc(value: str) -> str:
    try:
        code = parse_uscc(value)
    except FieldError as exc:
        raise Unprocessable(f"统一社会信用代码不正确：{exc.reason}", code="bad_uscc") from None
    if not isinstance(code, str):
        raise Unprocessable("统一社会信用代码不能为空", code="bad_uscc")
    return code


def normalise_name(value: str) -> str:
    """NFKC, no whitespace, one middle dot for the names of ethnic minorities (阿依古丽·买买提)."""
    text = "".join(unicodedata.normalize("NFKC", value).split())
    return re.sub("[•・‧∙⋅]", "·", text)


def _birth_date_ok(yyyymmdd: str) -> bool:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year and born <= dt.datetime.now(ZoneInfo(get_settings().timezone)).date()


def id_number_candidates(value: str) -> list[str]:
    """The stored forms the legal representative's ID number may have (15 and 18 digits).

    A resident ID (GB 11643) is checked only for its birth date and check digit: its address code
    is the county at issue time, and abolished counties (南京白下区 320103 …) stay valid forever.
    Other documents (passports, permits) are compared as given.
    """
    text = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    bad = Unprocessable("法定代表人身份证号码不正确（出生日期或校验位错误）", code="bad_id_number")
    if re.fullmatch(r"[0-9]{17}[0-9X]", text):
        if not _birth_date_ok(text[6:14]) or text[17] != resident_id_check_digit(text):
            raise bad
        return [text, text[:6] + text[8:17]] if text[6:8] == "19" else [text]
    if re.fullmatch(r"[0-9]{15}", text):
        if not _birth_date_ok("19" + text[6:12]):
            raise bad
        return [text, resident_id_to_18(text)]
    if not text or len(text) > 64:
        raise Unprocessable("法定代表人证件号码不正确", code="bad_id_number")
    return [text]


def check_password_policy(password: str, *, forbidden: tuple[str, ...] = ()) -> None:
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if len(password) < MIN_PASSWORD_LENGTH or classes < 3:
        raise Unprocessable(f"密码强度不足：至少 {MIN_PASSWORD_LENGTH} 位，且包含小写字母、大写字母、数字、"
                            "符号中的至少三类", code="weak_password")
    lowered = password.upper()
    if any(word and word.upper() in lowered for word in forbidden):
        raise Unprocessable("密码强度不足：密码不得包含统一社会信用代码或证件号码", code="weak_password")


def is_live(status: str | None) -> bool:
    return bool(status) and unicodedata.normalize("NFKC", status).strip().startswith(LIVE_STATUS_PREFIXES)


def local_time_text(moment: dt.datetime) -> str:
    local = as_utc(moment).astimezone(ZoneInfo(get_settings().timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def local_iso(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).astimezone(ZoneInfo(get_settings().timezone)).isoformat() if moment else None


# -- identity against the registration base -----------------------------------------------------

def _registry_person_matches():  # type: ignore[no-untyped-def]
    """The collection capability's ``person_matches`` when it is installed, else None."""
    try:
        module = importlib.import_module("fincredit.registry.service")
    except ModuleNotFoundError as exc:
        if exc.name != "fincredit.registry.service":
            raise
        return None
    return getattr(module, "person_matches", None)


def _person_matches_directly(session: Session, enterprise: Enterprise, name: str, id_number: str) -> bool:
    key = blind_index(id_number)
    if key != enterprise.legal_rep_key:
        return False
    person = session.get(Person, key)
    if person is None:
        return False
    try:
        stored = sm4_decrypt(person.name_enc)
    except ValueError:
        return False
    return normalise_name(stored) == normalise_name(name)


def matches_current_legal_rep(session: Session, enterprise: Enterprise, name: str,
                              id_candidates: list[str]) -> str | None:
    """The blind index of the matching ID form when name and ID are the current legal representative's."""
    external = _registry_person_matches()
    for candidate in id_candidates:
        ok = external is not None and external(session, enterprise.uscc, normalise_name(name), candidate)
        # Our own comparison also folds the middle-dot variants of minority names on both sides.
        if ok or _person_matches_directly(session, enterprise, name, candidate):
            return enterprise.legal_rep_key
    return None


def identity_holds(account: Account, enterprise: Enterprise | None) -> bool:
    return (account.identity_valid and enterprise is not None
            and enterprise.legal_rep_key == account.legal_rep_key)


def invalidate_identity_if_changed(session: Session, uscc: str, legal_rep_key: str) -> bool:
    """Mark the account's identity invalid when the base names another legal representative.

    For the collection capability to call when it stores a newer base record; returns True when
    an account was invalidated.
    """
    account = session.scalar(select(Account).where(Account.uscc == uscc))
    if account is None or account.legal_rep_key == legal_rep_key or not account.identity_valid:
        return False
    account.identity_valid = False
    return True


# -- registration -------------------------------------------------------------------------------

def register(session: Session, *, uscc: str, legal_representative_name: str, legal_representative_id: str,
             password: str) -> tuple[Account, Enterprise]:
    code = normalise_uscc(uscc)
    candidates = id_number_candidates(legal_representative_id)
    check_password_policy(password, forbidden=(code, *candidates))
    enterprise = session.get(Enterprise, code)
    if enterprise is None or not is_live(enterprise.status):
        raise Unprocessable("该统一社会信用代码不在登记基础库中，或企业不处于存续（在业）状态，不能注册",
                            code="enterprise_not_registrable")
    key = matches_current_legal_rep(session, enterprise, legal_representative_name, candidates)
    if key is None:
        raise Unprocessable("身份核验未通过：法定代表人信息与登记基础库不一致", code="identity_mismatch")
    account = session.scalar(select(Account).where(Account.uscc == code).with_for_update())
    password_hash = _hasher.hash(password)
    if account is not None:
        if identity_holds(account, enterprise):
            raise Conflict("该企业已注册，请直接登录", code="account_exists")
        # The new legal representative re-proves the identity; older credentials stop working.
        account.legal_rep_key, account.identity_valid = key, True
        account.password_hash, account.failed_logins, account.locked_until = password_hash, 0, None
        revoke_all_for(session, role=Role.enterprise, subject=code)
        session.flush()
        return account, enterprise
    account = Account(uscc=code, password_hash=password_hash, legal_rep_key=key, identity_valid=True)
    session.add(account)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same enterprise won
        session.rollback()
        raise Conflict("该企业已注册，请直接登录", code="account_exists") from None
    return account, enterprise


# -- log-in ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


@lru_cache
def _dummy_hash() -> str:
    return _hasher.hash("timing-equaliser-Aa1!")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _invalid_credentials() -> Unauthorized:
    return Unauthorized("统一社会信用代码或密码错误", code="invalid_credentials")


def _locked(until: dt.datetime) -> TooManyRequests:
    return TooManyRequests(f"连续登录失败次数过多，账户已锁定，请于 {local_time_text(until)} 之后再试",
                           code="account_locked", details={"locked_until": as_utc(until).isoformat()})


def authenticate(session: Session, *, username: str, password: str,
                 now: dt.datetime | None = None) -> IssuedToken:
    """Check the password and issue an 8-hour enterprise token.

    Failures change the account (counter, lock) and raise; the caller commits before answering.
    """
    now = now or utcnow()
    code = "".join(unicodedata.normalize("NFKC", username or "").split()).upper()[:64]
    account = session.scalar(select(Account).where(Account.uscc == code).with_for_update())
    if account is None:
        _verify(_dummy_hash(), password)  # same cost as a real check: no enumeration by timing
        raise _invalid_credentials()
    if account.locked_until is not None and as_utc(account.locked_until) > now:
        raise _locked(account.locked_until)
    if not _verify(account.password_hash, password):
        session.execute(update(Account).where(Account.id == account.id)
                        .values(failed_logins=Account.failed_logins + 1))
        session.refresh(account)
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.failed_logins, account.locked_until = 0, now + LOCK_DURATION
            raise _locked(account.locked_until)
        raise _invalid_credentials()
    enterprise = session.get(Enterprise, account.uscc)
    if not identity_holds(account, enterprise):
        account.identity_valid = False
        raise Forbidden("企业法定代表人已变更，原账户身份失效，请由新的法定代表人重新进行实名注册",
                        code="identity_invalidated")
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    raw, _row = issue_token(session, role=Role.enterprise, subject=account.uscc,
                            name=(enterprise.name if enterprise else account.uscc)[:100],
                            expires_at=now + TOKEN_LIFETIME)
    return IssuedToken(access_token=raw, expires_in=int(TOKEN_LIFETIME.total_seconds()))


# -- the account behind an enterprise token -------------------------------------------------------

def check_enterprise_principal(session: Session, principal: Principal) -> None:
    """Principal check: an enterprise token works only while its account's identity holds."""
    if principal.role != Role.enterprise:
        return
    row = session.execute(
        select(Account.identity_valid, Account.legal_rep_key, Enterprise.legal_rep_key)
        .outerjoin(Enterprise, Enterprise.uscc == Account.uscc)
        .where(Account.uscc == principal.subject)
    ).first()
    if row is None:
        raise Forbidden("该令牌对应的企业账户不存在", code="account_not_found")
    identity_valid, proven_key, current_key = row
    if not identity_valid or proven_key != current_key:
        raise Forbidden("企业法定代表人已变更，原账户身份失效，请由新的法定代表人重新进行实名注册",
                        code="identity_invalidated")


def get_account(session: Session, uscc: str) -> tuple[Account, Enterprise | None]:
    account = session.scalar(select(Account).where(Account.uscc == uscc))
    if account is None:
        raise Forbidden("该令牌对应的企业账户不存在", code="account_not_found")
    return account, session.get(Enterprise, uscc)


def mask_name(name: str) -> str:
    """脱敏: keep the first character of a natural person's name."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def legal_rep_masked_name(session: Session, enterprise: Enterprise) -> str | None:
    person = session.get(Person, enterprise.legal_rep_key)
    if person is None:
        return None
    try:
        return mask_name(sm4_decrypt(person.name_enc))
    except ValueError:
        return None
