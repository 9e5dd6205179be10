"""Collection quality (归集质量) per provider and category, computed with SQL aggregates.

* accuracy (准确性): rows received, rejected, rejection rate, the top rejection reasons by code;
* completeness (完整性): the fill rate of every field over the current records, their mean, and the
  share of registered enterprises (``Enterprise`` with status 存续/在业) that have a current record;
* timeliness (及时性): the newest data (the latest accepted batch or fetched record), its age against
  the category's ``update_cycle_days``, the next due date, and a ``late`` flag — also when nothing
  has arrived although the category's due date (annex) has passed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection import repository
from fincredit.db import as_utc, utcnow
from fincredit.registry.service import ACTIVE_STATUSES

TOP_REASONS = 5


def _when(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates return text
        value = dt.datetime.fromisoformat(value)
    return as_utc(value)  # type: ignore[arg-type]


def _filters(provider_code: str | None, category_code: str | None, prefix: str = "") -> tuple[str, dict]:
    sql, params = "", {}
    if provider_code:
        sql += f" AND {prefix}provider_code = :provider"
        params["provider"] = provider_code
    if category_code:
        sql += f" AND {prefix}category_code = :category"
        params["category"] = category_code
    return sql, params


def _field_fill(session: Session, category_code: str, fields: list[str], provider_code: str | None
                ) -> dict[str, tuple[int, list[int]]]:
    """provider → (current records, filled count per field), one aggregate query per category."""
    postgres = session.get_bind().dialect.name == "postgresql"
    params: dict[str, object] = {"category": category_code}
    sums = []
    for i, name in enumerate(fields):
        if postgres:
            params[f"f{i}"] = name
            test = f"jsonb_exists(data, :f{i})"
        else:
            params[f"f{i}"] = '$."' + name.replace('"', '\\"') + '"'
            test = f"json_type(data, :f{i}) IS NOT NULL"
        sums.append(f"SUM(CASE WHEN {test} THEN 1 ELSE 0 END)")
    extra = ""
    if provider_code:
        extra, params["provider"] = " AND provider_code = :provider", provider_code
    sql = (f"SELECT provider_code, COUNT(*), {', '.join(sums)} FROM records "
           f"WHERE category_code = :category AND is_current{extra} GROUP BY provider_code")
    return {row[0]: (int(row[1]), [int(v or 0) for v in row[2:]]) for row in session.execute(text(sql), params)}


def report(session: Session, *, provider_code: str | None = None, category_code: str | None = None,
           now: dt.datetime | None = None) -> list[dict]:
    now = now or utcnow()
    today = now.date()
    catalog = get_catalog(session)
    where, params = _filters(provider_code, category_code)
    pairs: set[tuple[str, str]] = set()
    for provider in repository.list_providers(session):
        if provider_code and provider.code != provider_code:
            continue
        pairs.update((provider.code, c) for c in provider.categories or [] if not category_code or c == category_code)

    batches = {}
    for row in session.execute(text(
            "SELECT provider_code, category_code, COUNT(*), SUM(rows_total), SUM(accepted), SUM(rejected), "
            "SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), "
            "MAX(CASE WHEN status <> 'rejected' THEN completed_at END) "
            f"FROM batches WHERE 1 = 1{where} GROUP BY provider_code, category_code"), params):
        batches[(row[0], row[1])] = row
    reasons: dict[tuple[str, str], list[dict]] = defaultdict(list)
    bwhere, _ = _filters(provider_code, category_code, "b.")
    for row in session.execute(text(
            "SELECT b.provider_code, b.category_code, e.code, COUNT(*) AS n FROM batch_errors e "
            f"JOIN batches b ON b.id = e.batch_id WHERE 1 = 1{bwhere} "
            "GROUP BY b.provider_code, b.category_code, e.code ORDER BY n DESC, e.code"), params):
        if len(reasons[(row[0], row[1])]) < TOP_REASONS:
            reasons[(row[0], row[1])].append({"code": row[2], "count": int(row[3])})
    records = {(r[0], r[1]): r for r in session.execute(text(
        "SELECT provider_code, category_code, COUNT(*), MAX(received_at) FROM records "
        f"WHERE is_current{where} GROUP BY provider_code, category_code"), params)}
    statuses = {f"s{i}": s for i, s in enumerate(ACTIVE_STATUSES)}
    marks = ", ".join(f":{k}" for k in statuses)
    registered = int(session.execute(text(f"SELECT COUNT(*) FROM enterprises WHERE status IN ({marks})"),
                                     statuses).scalar() or 0)
    rwhere, _ = _filters(provider_code, category_code, "r.")
    covered = {(r[0], r[1]): int(r[2]) for r in session.execute(text(
        "SELECT r.provider_code, r.category_code, COUNT(DISTINCT r.subject_key) FROM records r "
        "JOIN enterprises e ON e.uscc = r.subject_key "
        f"WHERE r.is_current AND r.subject_kind = 'enterprise' AND e.status IN ({marks}){rwhere} "
        "GROUP BY r.provider_code, r.category_code"), {**params, **statuses})}
    pairs.update(batches)
    pairs.update(records)

    fills: dict[str, dict[str, tuple[int, list[int]]]] = {}
    for code in sorted({c for _p, c in pairs if c in catalog.categories and any(k[1] == c for k in records)}):
        fills[code] = _field_fill(session, code, [f.name for f in catalog.categories[code].fields], provider_code)

    out = []
    for prov, code in sorted(pairs, key=lambda k: (k[0], _order(k[1]))):
        cat = catalog.categories.get(code)
        b = batches.get((prov, code))
        rows_total, rejected = (int(b[3] or 0), int(b[5] or 0)) if b else (0, 0)
        rec = records.get((prov, code))
        current = int(rec[2]) if rec else 0
        newest = max(filter(None, [_when(b[7]) if b else None, _when(rec[3]) if rec else None]), default=None)
        fill_total, filled = fills.get(code, {}).get(prov, (0, []))
        field_fill = ([{"field": f.name, "fill_rate": round(n / fill_total, 4)} for f, n in zip(cat.fields, filled,
                                                                                              strict=True)]
                      if cat and fill_total else [])
        cycle = cat.update_cycle_days if cat else None
        age = round((now - newest).total_seconds() / 86400, 2) if newest else None
        if newest is not None and cycle is not None:
            next_due: dt.date | None = (newest + dt.timedelta(days=cycle)).date()
            late, reason = age > cycle, (f"最新数据已 {age:.0f} 天，超过更新周期 {cycle} 天" if age > cycle else None)
        else:
            due = cat.due if cat else None
            next_due = due
            late = cat is not None and (due is None or due < today)
            reason = "尚未报送任何数据" + (f"（应于 {due.isoformat()} 前共享）" if due else "") if late else None
        n_covered = covered.get((prov, code), 0)
        out.append({
            "provider": prov, "category": code, "category_name": cat.name if cat else None,
            "accuracy": {"batches": int(b[2]) if b else 0, "rejected_batches": int(b[6] or 0) if b else 0,
                         "rows_total": rows_total, "accepted": int(b[4] or 0) if b else 0, "rejected": rejected,
                         "rejection_rate": round(rejected / rows_total, 4) if rows_total else None,
                         "top_reasons": reasons.get((prov, code), [])},
            "completeness": {"current_records": current, "field_fill": field_fill,
                             "mean_fill_rate": (round(sum(x["fill_rate"] for x in field_fill) / len(field_fill), 4)
                                                if field_fill else None),
                             "enterprises_covered": n_covered, "registered_enterprises": registered,
                             "coverage": round(n_covered / registered, 4) if registered else None},
            "timeliness": {"newest_at": newest.isoformat() if newest else None, "age_days": age,
                           "update_cycle_days": cycle, "due": cat.due.isoformat() if cat and cat.due else None,
                           "next_due": next_due.isoformat() if next_due else None, "late": late,
                           "late_reason": reason},
        })
    return out


def _order(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (-1, code)
