"""The registry maintained from registration-base batches (collection → registry)."""

from __future__ import annotations

from sqlalchemy import select

from fincredit.crypto import blind_index, sm4_decrypt
from fincredit.db import session_scope
from fincredit.registry import service as registry
from fincredit.registry.models import Account, Enterprise, Person, PersonRole
from tests.collection import factories
from tests.collection.conftest import provider, upload  # noqa: F401 (fixtures)


def _base_rows(n: int) -> list[dict]:
    rows = factories.rows("base", n)
    for i, row in enumerate(rows):
        row["法定代表人姓名"] = f"张{i}"
        row["法定代表人证件号码"] = factories.resident_id(i)
        row["从业人数"], row["营业收入(万元)"], row["行业代码"] = 30 + i, 500, "C3911"
    rows[1]["登记状态"] = "注销"
    return rows


def test_base_batches_maintain_enterprises_persons_roles_and_accounts(tmp_path, provider, upload, session):  # noqa: F811
    token = provider("amr", ("base",))
    rows = _base_rows(3)
    assert upload(token, "base", factories.to_csv(rows, tmp_path / "b1.csv")).json()["status"] == "accepted"
    usccs = [r["统一社会信用代码"] for r in rows]
    ent = registry.get_enterprise(session, usccs[0])
    assert (ent.name, ent.status, ent.industry_code, ent.region_code, ent.size_class) == (
        rows[0]["企业名称"], "存续", "C3911", "320102", "小型")
    assert registry.get_enterprise(session, usccs[1]).status == "注销"
    assert ent.legal_rep_key == blind_index(rows[0]["法定代表人证件号码"])
    person = registry.current_legal_rep(session, usccs[0])
    assert sm4_decrypt(person.name_enc) == "张0" and sm4_decrypt(person.id_number_enc) == rows[0]["法定代表人证件号码"]
    assert "张0" not in person.name_enc and rows[0]["法定代表人证件号码"] not in person.id_number_enc
    assert registry.person_matches(session, usccs[0], "张0", rows[0]["法定代表人证件号码"])
    assert registry.person_matches(session, usccs[0], " 张 0 ", rows[0]["法定代表人证件号码"].lower())
    assert not registry.person_matches(session, usccs[0], "李四", rows[0]["法定代表人证件号码"])
    assert not registry.person_matches(session, usccs[0], "张0", rows[1]["法定代表人证件号码"])
    assert not registry.person_matches(session, "91320100999999999X", "张0", rows[0]["法定代表人证件号码"])
    assert session.scalar(select(PersonRole).where(PersonRole.uscc == usccs[0])).until is None

    with session_scope() as s:
        s.add(Account(uscc=usccs[0], password_hash="x", legal_rep_key=ent.legal_rep_key))
        s.add(Account(uscc=usccs[2], password_hash="x", legal_rep_key=blind_index(rows[2]["法定代表人证件号码"])))

    newer = [dict(r) for r in rows]
    newer[0]["法定代表人姓名"], newer[0]["法定代表人证件号码"] = "王五", factories.resident_id(500)
    newer[2]["从业人数"], newer[2]["营业收入(万元)"] = 400, 3000  # same legal representative
    body = upload(token, "base", factories.to_csv(newer, tmp_path / "b2.csv")).json()
    assert (body["superseded"], body["unchanged"]) == (2, 1)
    session.expire_all()
    roles = session.scalars(select(PersonRole).where(PersonRole.uscc == usccs[0]).order_by(PersonRole.id)).all()
    assert [r.person_key for r in roles] == [blind_index(rows[0]["法定代表人证件号码"]),
                                             blind_index(factories.resident_id(500))]
    assert roles[0].until is not None and roles[1].until is None
    assert sm4_decrypt(registry.current_legal_rep(session, usccs[0]).name_enc) == "王五"
    assert registry.person_matches(session, usccs[0], "王五", factories.resident_id(500))
    assert not registry.person_matches(session, usccs[0], "张0", rows[0]["法定代表人证件号码"])
    accounts = {a.uscc: a.identity_valid for a in session.scalars(select(Account))}
    assert accounts == {usccs[0]: False, usccs[2]: True}
    assert registry.get_enterprise(session, usccs[2]).size_class == "中型"
    assert len(session.scalars(select(PersonRole).where(PersonRole.uscc == usccs[2])).all()) == 1
    assert session.get(Person, blind_index(rows[0]["法定代表人证件号码"])) is not None  # history kept
    assert session.scalar(select(Enterprise).where(Enterprise.uscc == usccs[0])).base_record_id is not None
