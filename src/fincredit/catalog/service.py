"""Loading, reading and adjusting the versioned catalog (§5 “动态调整”). Services never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.catalog.definitions import CategoryDef, canonical_hash, load_annex
from fincredit.catalog.models import CatalogCategory, CatalogVersion
from fincredit.db import CACHE_CLEARERS, as_utc
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class CatalogSnapshot:
    """An immutable, in-memory view of one catalog version."""

    id: int
    version: int
    note: str
    source: str
    created_by: str
    created_at: dt.datetime
    providers: dict[str, str]
    categories: dict[str, CategoryDef] = field(default_factory=dict)
    adjusted: frozenset[str] = frozenset()

    def category(self, code: str) -> CategoryDef:
        try:
            return self.categories[code]
        except KeyError:
            raise NotFound(f"信息类“{code}”不在共享清单（第 {self.version} 版）中",
                           code="unknown_category") from None

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "note": self.note,
            "source": self.source,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "providers": self.providers,
            "category_count": len(self.categories),
            "categories": [c.public_dict() for c in self.categories.values()],
        }


# Versions are immutable, so a snapshot can be cached per process for ever.
_SNAPSHOTS: dict[int, CatalogSnapshot] = {}


def _snapshot(session: Session, row: CatalogVersion) -> CatalogSnapshot:
    cached = _SNAPSHOTS.get(row.id)
    if cached is not None and cached.version == row.version:
        return cached
    cats = session.scalars(select(CatalogCategory).where(CatalogCategory.version_id == row.id)
                           .order_by(CatalogCategory.id)).all()
    snap = CatalogSnapshot(
        id=row.id, version=row.version, note=row.note, source=row.source, created_by=row.created_by,
        created_at=as_utc(row.created_at), providers=dict(row.providers),
        categories={c.code: CategoryDef.model_validate(c.definition) for c in cats},
        adjusted=frozenset(c.code for c in cats if c.operator_adjusted),
    )
    _SNAPSHOTS[row.id] = snap
    return snap


def clear_cache() -> None:
    _SNAPSHOTS.clear()


CACHE_CLEARERS.append(clear_cache)


def current_version_row(session: Session) -> CatalogVersion | None:
    return session.scalar(select(CatalogVersion).order_by(CatalogVersion.version.desc()).limit(1))


# The current snapshot is read once per transaction: ``session.info[_MEMO] = (transaction, snapshot)``.
# A new transaction (after commit or rollback) reads the current version again, so a new version is seen
# by the next request; within one request every caller (view, PDP, products) sees the same version.
_MEMO = "fincredit.catalog.current"


def head_columns() -> tuple[Any, Any]:
    """The current version's id and number as scalar subqueries, for a caller that reads other things
    in the same query and then hands them to ``remember_current``."""
    latest = select(CatalogVersion.id, CatalogVersion.version).order_by(CatalogVersion.version.desc()).limit(1)
    sub = latest.subquery()
    return (select(sub.c.id).scalar_subquery().label("catalog_version_id"),
            select(sub.c.version).scalar_subquery().label("catalog_version"))


def remember_current(session: Session, version_id: int | None, version: int | None) -> CatalogSnapshot:
    """The current snapshot from its id and number read by the caller in this transaction (``head_columns``);
    ``get_catalog`` then returns it for the rest of the transaction without reading it again."""
    if version_id is None or version is None:
        raise NotFound("共享清单尚未加载，请先运行 fincredit init", code="catalog_not_loaded")
    snap = _SNAPSHOTS.get(version_id)
    if snap is None or snap.version != version:
        row = session.get(CatalogVersion, version_id)
        if row is None:
            raise NotFound("共享清单尚未加载，请先运行 fincredit init", code="catalog_not_loaded")
        snap = _snapshot(session, row)
    session.info[_MEMO] = (session.get_transaction(), snap)
    return snap


def _current(session: Session) -> CatalogSnapshot:
    memo = session.info.get(_MEMO)
    tx = session.get_transaction()
    if memo is not None and tx is not None and memo[0] is tx:
        return memo[1]
    head = session.execute(select(CatalogVersion.id, CatalogVersion.version)
                           .order_by(CatalogVersion.version.desc()).limit(1)).first()
    if head is None:
        raise NotFound("共享清单尚未加载，请先运行 fincredit init", code="catalog_not_loaded")
    return remember_current(session, head.id, head.version)


def get_catalog(session: Session, version: int | None = None) -> CatalogSnapshot:
    if version is None:
        return _current(session)
    row = session.scalar(select(CatalogVersion).where(CatalogVersion.version == version))
    if row is None:
        raise NotFound(f"共享清单第 {version} 版不存在", code="unknown_catalog_version")
    return _snapshot(session, row)


def get_catalog_by_id(session: Session, version_id: int) -> CatalogSnapshot:
    row = session.get(CatalogVersion, version_id)
    if row is None:
        raise NotFound("共享清单版本不存在", code="unknown_catalog_version")
    return _snapshot(session, row)


def list_versions(session: Session) -> list[CatalogVersion]:
    return list(session.scalars(select(CatalogVersion).order_by(CatalogVersion.version)))


def _write_version(session: Session, *, note: str, source: str, created_by: str, providers: dict[str, str],
                   categories: list[CategoryDef], adjusted: set[str], annex_hash: str) -> CatalogVersion:
    session.info.pop(_MEMO, None)
    next_version = (session.scalar(select(func.max(CatalogVersion.version))) or 0) + 1
    row = CatalogVersion(version=next_version, note=note[:500], source=source, created_by=created_by[:100],
                         providers=providers, annex_hash=annex_hash)
    session.add(row)
    session.flush()
    for cat in categories:
        definition = cat.model_dump(mode="json", exclude_none=True)
        session.add(CatalogCategory(version_id=row.id, code=cat.code, definition=definition,
                                    definition_hash=canonical_hash(definition),
                                    operator_adjusted=cat.code in adjusted))
    session.flush()
    return row


def ensure_catalog_loaded(session: Session) -> str:
    """Load the shipped annex as version 1, or upgrade to a changed shipped annex.

    An upgrade keeps categories an operator adjusted or added at run time.
    """
    annex = load_annex()
    annex_hash = canonical_hash(annex.model_dump(mode="json"))
    current = current_version_row(session)
    if current is None:
        row = _write_version(session, note=annex.catalog_version_note, source="annex", created_by="system",
                             providers=annex.providers, categories=annex.categories, adjusted=set(),
                             annex_hash=annex_hash)
        return f"loaded version {row.version} ({len(annex.categories)} categories)"
    if current.annex_hash == annex_hash:
        return f"up to date (version {current.version})"
    snap = _snapshot(session, current)
    merged: dict[str, CategoryDef] = {c.code: c for c in annex.categories}
    for code, cat in snap.categories.items():
        if code in snap.adjusted or code not in merged:
            if code in merged:
                log.warning("catalog_upgrade_kept_operator_adjustment", category=code)
            merged[code] = cat
    providers = {**snap.providers, **annex.providers}
    row = _write_version(session, note="随软件升级的共享清单", source="annex", created_by="system",
                         providers=providers, categories=list(merged.values()), adjusted=set(snap.adjusted),
                         annex_hash=annex_hash)
    return f"upgraded to version {row.version}"


def parse_category(payload: dict) -> CategoryDef:
    """Validate an operator's category definition; errors list every problem in Chinese."""
    try:
        return CategoryDef.model_validate(payload)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append({"field": loc, "code": err["type"], "message": msg})
        raise Unprocessable("信息类定义不合规：" + "；".join(
            f"{p['field'] or '定义'}：{p['message']}" for p in problems[:10]),
            code="bad_category_definition", details=problems) from None


def adjust_category(session: Session, payload: dict, *, actor: str, note: str,
                    provider_name: str | None = None, create_only: bool = False) -> CatalogVersion:
    """Add or replace one category, creating a new catalog version. Older versions stay readable."""
    cat = parse_category(payload)
    snap = get_catalog(session)
    if create_only and cat.code in snap.categories:
        raise Conflict(f"信息类“{cat.code}”已存在，请使用调整接口", code="category_exists")
    providers = dict(snap.providers)
    if cat.provider not in providers:
        if not provider_name:
            raise Unprocessable(f"责任单位编码“{cat.provider}”未登记，请同时给出责任单位名称 provider_name",
                                code="unknown_provider")
        providers[cat.provider] = provider_name
    existing = snap.categories.get(cat.code)
    if existing is not None and existing == cat:
        raise Conflict(f"信息类“{cat.code}”的定义没有变化", code="category_unchanged")
    categories = dict(snap.categories)
    categories[cat.code] = cat
    verb = "调整" if existing else "新增"
    return _write_version(session, note=note or f"{verb}信息类 {cat.code}", source="operator", created_by=actor,
                          providers=providers, categories=list(categories.values()),
                          adjusted=set(snap.adjusted) | {cat.code},
                          annex_hash=current_version_row(session).annex_hash)  # type: ignore[union-attr]
