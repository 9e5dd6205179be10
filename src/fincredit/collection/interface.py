"""On-demand interface calls (接口调用): fetch a subject's records from the provider's endpoint.

``fetch_on_demand(session, category, subject_key, authorization_ref)`` is what the disclosure
module calls when an authorized query needs a category collected by interface call. It answers
from the stored records while they are fresh — the latest successful fetch (or the newest record)
is younger than the category's ``update_cycle_days`` — and otherwise calls the provider:

``GET {endpoint}/records?category=C&uscc=S`` with headers ``X-Fincredit-Timestamp`` (Unix seconds),
``X-Fincredit-Authorization`` (the authorization reference) and ``X-Fincredit-Signature`` =
hex HMAC-SM3(secret, ``"{timestamp}\\n{METHOD}\\n{path}?{query}\\n{authorization_ref}"``); answer
``{"rows": [{field name: value, …}]}``. Timeout 5 s, 2 retries with exponential back-off on network
errors and 5xx. Rows are validated like a batch and stored as records (``fetched_via="interface"``,
no batch) with the same supersede rules. When the provider cannot be reached, stale records are
returned (``source="stale"``) if there are any, else 502 ``provider_unavailable``; when a batch of the
category is being written (PostgreSQL), the stored records are returned without waiting for it.
Call it before appending to the ledger in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.catalog.definitions import CategoryDef
from fincredit.catalog.service import get_catalog
from fincredit.collection import repository
from fincredit.collection.ingest import RecordWriter
from fincredit.collection.models import InterfaceFetch, Record
from fincredit.collection.provider_service import check_endpoint_url, endpoint_secret
from fincredit.collection.shaping import RecordShaper
from fincredit.collection.validators import compile_fields
from fincredit.db import as_utc, utcnow
from fincredit.errors import DomainError, NotFound, Unprocessable
from fincredit.logs import get_logger
from fincredit.registry.models import Enterprise

log = get_logger(__name__)

TIMEOUT_SECONDS = 5.0
RETRIES = 2
BACKOFF_SECONDS = 0.2
MAX_ROWS = 10_000
INTERFACE_METHODS = ("interface_authorized", "interface_open")


class ProviderUnavailable(DomainError):
    status_code = 502
    code = "provider_unavailable"


@dataclass
class FetchResult:
    records: list[Record]
    source: str  # cache | interface | stale
    fetched_rows: int = 0


def sign_request(secret: str, timestamp: str, method: str, target: str, authorization_ref: str) -> str:
    message = f"{timestamp}\n{method.upper()}\n{target}\n{authorization_ref}".encode()
    return hmac.new(secret.encode(), message, "sm3").hexdigest()


def _subject_keys(session: Session, cat: CategoryDef, uscc: str) -> list[str]:
    """The subjects an enterprise query covers: the enterprise, and for person categories (8) its
    current legal representative (blind index, from the registry)."""
    if cat.subject != "person":
        return [uscc]
    enterprise = session.get(Enterprise, uscc)
    return [uscc] + ([enterprise.legal_rep_key] if enterprise is not None else [])


def _current(session: Session, category_code: str, keys: list[str]) -> list[Record]:
    return [r for key in keys for r in repository.current_records(session, category_code, key)]


def _fresh_since(session: Session, category_code: str, uscc: str, keys: list[str]) -> dt.datetime | None:
    last_fetch = session.scalar(select(func.max(InterfaceFetch.fetched_at)).where(
        InterfaceFetch.category_code == category_code, InterfaceFetch.subject_key == uscc,
        InterfaceFetch.status == "ok"))
    newest = session.scalar(select(func.max(Record.received_at)).where(
        Record.subject_key.in_(keys), Record.category_code == category_code, Record.is_current))
    times = [as_utc(t) for t in (last_fetch, newest) if t is not None]
    return max(times) if times else None


def _call(url: str, secret: str, params: dict[str, str], authorization_ref: str,
          client: httpx.Client | None) -> list[dict]:
    check_endpoint_url(url, resolve=True)
    base = url.rstrip("/") + "/records"
    query = urlencode(params)
    target = f"{urlsplit(base).path}?{query}"
    last_error = "unknown"
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            timestamp = str(int(time.time()))
            headers = {"X-Fincredit-Timestamp": timestamp, "X-Fincredit-Authorization": authorization_ref,
                       "X-Fincredit-Signature": sign_request(secret, timestamp, "GET", target, authorization_ref)}
            try:
                response = client.get(f"{base}?{query}", headers=headers)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}"
                continue
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise ProviderUnavailable(f"数据提供单位接口拒绝了请求（HTTP {response.status_code}）")
            try:
                body = response.json()
            except ValueError:
                raise ProviderUnavailable("数据提供单位接口返回的不是 JSON") from None
            rows = body.get("rows") if isinstance(body, dict) else body
            if not isinstance(rows, list) or len(rows) > MAX_ROWS:
                raise ProviderUnavailable("数据提供单位接口返回格式不正确（应为 {\"rows\": [...]}）")
            return [r for r in rows if isinstance(r, dict)]
    finally:
        if own:
            client.close()
    raise ProviderUnavailable(f"数据提供单位接口不可用（重试 {RETRIES} 次后仍失败：{last_error}）")


def fetch_on_demand(session: Session, category: str, subject_key: str, authorization_ref: str, *,
                    now: dt.datetime | None = None, client: httpx.Client | None = None,
                    force: bool = False) -> FetchResult:
    """Current records of ``category`` about the enterprise ``subject_key`` (a USCC) — for person
    categories, about its legal representative — fresh from the provider when due."""
    now = now or utcnow()
    snapshot = get_catalog(session)
    cat = snapshot.category(category)
    if cat.sharing_method not in INTERFACE_METHODS:
        raise Unprocessable(f"信息类“{category}”不通过接口调用归集", code="not_interface_category")
    keys = _subject_keys(session, cat, subject_key)
    cached = _current(session, cat.code, keys)
    since = _fresh_since(session, cat.code, subject_key, keys)
    if not force and since is not None and now - since < dt.timedelta(days=cat.update_cycle_days):
        return FetchResult(cached, "cache")
    providers = [p for p in repository.providers_for_category(session, cat.code) if p.endpoint_url]
    if not providers:
        if cached:
            return FetchResult(cached, "stale")
        raise NotFound(f"信息类“{category}”没有登记接口调用地址的数据提供单位", code="no_interface_provider")
    provider = providers[0]
    try:
        rows = _call(provider.endpoint_url or "", endpoint_secret(provider) or "",
                     {"category": cat.code, "uscc": subject_key}, authorization_ref, client)
    except ProviderUnavailable as exc:
        log.warning("interface_fetch_failed", provider=provider.code, category=cat.code, error=exc.message)
        if cached:
            return FetchResult(cached, "stale")
        raise
    if not repository.lock_category(session, cat.code, wait=False):
        # A batch of this category is being written: answer from what is stored rather than wait
        # (and never hold the caller's transaction, which may hold the ledger lock, behind it).
        log.warning("interface_fetch_not_stored", provider=provider.code, category=cat.code)
        return FetchResult(cached, "stale", len(rows))
    validator = compile_fields(cat.fields)
    shaper = RecordShaper(cat)
    writer = RecordWriter(session, category_code=cat.code, provider_code=provider.code, batch_id=None, now=now,
                          fetched_via="interface")
    accepted = 0
    for number, raw in enumerate(rows, start=1):
        clean, errors = validator.validate({str(k): v for k, v in raw.items()}, number)
        if errors or clean is None:
            log.warning("interface_row_rejected", provider=provider.code, category=cat.code, row=number,
                        codes=[e.code for e in errors])
            continue
        shaped = shaper.shape(clean, number)
        if shaped.subject_key not in keys:
            continue  # a row about someone else: never stored under this query
        writer.add(shaped)
        accepted += 1
    counts = writer.finish()
    session.add(InterfaceFetch(category_code=cat.code, subject_key=subject_key, provider_code=provider.code,
                               authorization_ref=(authorization_ref or "")[:100] or None, fetched_at=now,
                               status="ok", rows_received=len(rows), rows_stored=counts.inserted))
    session.flush()
    log.info("interface_fetched", provider=provider.code, category=cat.code, rows=len(rows), accepted=accepted,
             inserted=counts.inserted, unchanged=counts.unchanged)
    return FetchResult(_current(session, cat.code, keys), "interface", len(rows))
