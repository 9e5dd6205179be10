"""The registry of enterprises and natural persons, maintained from the registration base (base).

Other capabilities call ``get_enterprise``, ``current_legal_rep``, ``person_matches`` and
``legal_rep_name``; collection calls ``upsert_from_base_rows`` inside a batch's transaction.
Services never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fincredit.catalog.definitions import normalize_name
from fincredit.crypto import blind_index, constant_time_equal, sm4_decrypt, sm4_encrypt_many
from fincredit.db import utcnow
from fincredit.registry.models import Account, Enterprise, Person, PersonRole
from fincredit.registry.size_class import size_class

LEGAL_REP = "legal_representative"
ACTIVE_STATUSES = ("存续", "在业")
F_NAME, F_USCC, F_REP_NAME, F_REP_ID_TYPE, F_REP_ID = ("企业名称", "统一社会信用代码", "法定代表人姓名",
                                                       "法定代表人证件类型", "法定代表人证件号码")


def get_enterprise(session: Session, uscc: str) -> Enterprise | None:
    return session.get(Enterprise, uscc.strip().upper())


def current_legal_rep(session: Session, uscc: str) -> Person | None:
    enterprise = get_enterprise(session, uscc)
    if enterprise is None:
        return None
    return session.get(Person, enterprise.legal_rep_key)


def legal_rep_name(session: Session, uscc: str) -> str | None:
    person = current_legal_rep(session, uscc)
    return sm4_decrypt(person.name_enc) if person is not None else None


def person_matches(session: Session, uscc: str, name: str, id_number: str) -> bool:
    """True when ``name`` and ``id_number`` are those of the enterprise's current legal representative."""
    person = current_legal_rep(session, uscc)
    if person is None or not name or not id_number:
        return False
    key_ok = constant_time_equal(person.key, blind_index(id_number))
    name_ok = constant_time_equal(normalize_name(sm4_decrypt(person.name_enc)), normalize_name(name))
    return key_ok and name_ok


def _number(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _insert(session: Session, table: Any) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def upsert_from_base_rows(session: Session, rows: Sequence[tuple[int | None, Mapping[str, Any]]]) -> dict[str, int]:
    """Apply new registration-base records (``(record id, clean plain row)``) to the registry.

    Upserts ``Enterprise`` rows (size class per 工信部联企业〔2011〕300号) and the legal
    representative's ``Person`` (SM4-encrypted ID and name, keyed by the blind index). When the
    legal representative changes, the old ``PersonRole`` is closed (``until``), a new one opened,
    and real-name ``Account`` rows of the enterprise proven by the old person lose ``identity_valid``.
    Set-based: a few statements per call whatever the number of rows.
    """
    if not rows:
        return {"enterprises": 0, "legal_rep_changes": 0}
    now = utcnow()
    latest: dict[str, tuple[int | None, Mapping[str, Any], str]] = {}
    for record_id, row in rows:
        latest[row[F_USCC]] = (record_id, row, blind_index(str(row[F_REP_ID])))
    usccs = list(latest)
    old_keys = dict(session.execute(select(Enterprise.uscc, Enterprise.legal_rep_key)
                                    .where(Enterprise.uscc.in_(usccs))).all())
    # Each person's ID number and name, encrypted in one run (``sm4_encrypt_many``).
    sealed = iter(sm4_encrypt_many([text for _record_id, row, _key in latest.values()
                                    for text in (str(row[F_REP_ID]), str(row[F_REP_NAME]))]))
    persons = {}
    for _record_id, row, key in latest.values():
        persons[key] = {"key": key, "id_type": str(row.get(F_REP_ID_TYPE) or "居民身份证")[:32],
                        "id_number_enc": next(sealed), "name_enc": next(sealed), "created_at": now}
    session.execute(_insert(session, Person.__table__).on_conflict_do_nothing(index_elements=["key"]),
                    list(persons.values()))
    enterprises = []
    for uscc, (record_id, row, key) in latest.items():
        employees = row.get("从业人数")
        revenue = _number(row.get("营业收入(万元)"))
        enterprises.append({
            "uscc": uscc, "name": str(row[F_NAME])[:200], "status": str(row["登记状态"]),
            "industry_code": row.get("行业代码"), "region_code": row.get("住所所在地行政区划代码"),
            "size_class": size_class(row.get("行业代码"), employees, revenue),
            "established_on": _date(row.get("成立日期")),
            "registered_capital_wan": _number(row.get("注册资本(万元)")),
            "employees": employees, "revenue_wan": revenue,
            "registration_authority": (str(row["登记机关"])[:200] if row.get("登记机关") else None),
            "legal_rep_key": key, "base_record_id": record_id, "updated_at": now,
        })
    from fincredit.statistics.aggregate import track  # the statistics aggregate follows the base's changes

    stmt = _insert(session, Enterprise.__table__)
    updatable = [c for c in enterprises[0] if c != "uscc"]
    with track(session, usccs):
        session.execute(stmt.on_conflict_do_update(index_elements=["uscc"],
                                                   set_={c: stmt.excluded[c] for c in updatable}), enterprises)
    changed = [u for u in usccs if old_keys.get(u) != latest[u][2]]
    if changed:
        roles = PersonRole.__table__
        session.execute(update(roles).where(and_(roles.c.uscc.in_(changed), roles.c.role == LEGAL_REP,
                                                 roles.c.until.is_(None))).values(until=now))
        session.execute(roles.insert(), [{"person_key": latest[u][2], "uscc": u, "role": LEGAL_REP, "since": now,
                                          "source_record_id": latest[u][0]} for u in changed])
        replaced = [u for u in changed if u in old_keys]
        if replaced:
            accounts = Account.__table__
            session.execute(update(accounts).where(and_(accounts.c.uscc == bindparam("u"),
                                                        accounts.c.legal_rep_key != bindparam("k")))
                            .values(identity_valid=False).execution_options(synchronize_session=False),
                            [{"u": u, "k": latest[u][2]} for u in replaced])
    return {"enterprises": len(enterprises), "legal_rep_changes": len([u for u in changed if u in old_keys])}
