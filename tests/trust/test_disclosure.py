"""Disclosure over HTTP: the institution's view, verification, the enterprise's own view and history,
the record + ledger entry of every disclosure, fault injection, rate limit and scraping alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.disclosure.models import Disclosure, OperatorAlert
from fincredit.ledger.models import LedgerEntry
from tests.helpers import auth, error_code
from tests.trust import factories as f


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def records(session, world):  # type: ignore[no-untyped-def]
    """Tax (1), arrears (2), social insurance (10), court hearing with a person in free text (7),
    real estate (27), the legal representative on a dishonesty list (37), and the base record."""
    ent = world.ent
    f.store_record(session, f.category(session, "base"), {
        "企业名称": ent.name, "统一社会信用代码": ent.uscc, "法定代表人姓名": ent.rep.name,
        "法定代表人证件类型": "居民身份证", "法定代表人证件号码": ent.rep.resident_id, "成立日期": "2015-05-01",
        "登记状态": "存续", "行业代码": "C13", "住所所在地行政区划代码": "320102"})
    f.store_record(session, f.category(session, "1"), {
        "企业名称": ent.name, "统一社会信用代码": ent.uscc, "近一年增值税实际缴税金额(元)": "723456.12",
        "连续正常缴税周期(月)": 14, "最近一次正常缴税日期": "2024-06-15"})
    f.store_record(session, f.category(session, "2"), {
        "企业名称": ent.name, "统一社会信用代码": ent.uscc, "税种": "城镇土地使用税", "欠税金额(元)": "8123.45",
        "当前是否欠税": True})
    f.store_record(session, f.category(session, "10"), {
        "企业名称": ent.name, "统一社会信用代码": ent.uscc, "缴费年月": "2024-05", "险种类别": "企业职工基本养老保险",
        "职工工资总额": "456789.01", "单位缴费基数": "345678.02", "参保人数": 37, "本月应缴金额合计(元)": "55555.55",
        "本月实缴金额合计(元)": "55555.55"})
    witness = f.new_person()  # a registered person (another enterprise's legal representative)
    f.make_enterprise(session, rep=witness)
    world.witness = witness
    f.store_record(session, f.category(session, "7"), {
        "案号": "（2024）苏0102民初777号", "当事人名称": ent.name, "当事人证件类型": "统一社会信用代码",
        "当事人证件号码": ent.uscc, "诉讼地位": "被告",
        "案由": f"与{witness.name}（{witness.resident_id}，{witness.mobile}）及{ent.rep.name}的借款合同纠纷",
        "开庭日期": "2024-07-01", "受理法院": "南京市玄武区人民法院"})
    f.store_record(session, f.category(session, "27"), {
        "权利人名称": ent.name, "证件类型": "统一社会信用代码", "权利人证件号": ent.uscc,
        "不动产权证书号": "苏(2020)南京市不动产权第0012345号", "不动产单元号": "320102001001GB00001F00010001",
        "坐落": "南京市玄武区某路1号", "面积": "1234.56"})
    f.store_record(session, f.category(session, "37"), {
        "姓名": ent.rep.name, "证件类型": "居民身份证", "证件号码": ent.rep.resident_id, "失信名单类别": "严重违法失信",
        "确认严重违法失信日期": "2023-01-10", "违法失信行为事实": f"{ent.rep.name}拒不履行"})
    session.commit()
    return world


def grant(session, world, categories, **kw):  # type: ignore[no-untyped-def]
    a = f.grant(session, world.ent, world.bank, categories, **kw)
    session.commit()
    return a


def view(client, world, token=None, **params):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(token or world.bank_token), params=params)


def sections(resp) -> dict:  # type: ignore[no-untyped-def]
    return {s["code"]: s for s in resp.json()["categories"]}


def test_without_authorization_only_masked_public_information(client, session, records):
    w = records
    r = view(client, w)
    assert r.status_code == 200, r.text
    text = r.text
    s = sections(r)
    assert s["1"]["form"] == "none" and s["1"]["status"] == "未授权" and "products" not in s["1"]
    assert s["27"]["form"] == "none" and "records" not in s["27"]
    assert s["7"]["form"] == "masked_public" and len(s["7"]["records"]) == 1
    case = s["7"]["records"][0]["data"]
    assert case["当事人名称"] == w.ent.name and case["当事人证件号码"] == w.ent.uscc
    assert w.witness.name not in text and w.witness.resident_id not in text and w.witness.mobile not in text
    assert w.ent.rep.name not in text and w.ent.rep.resident_id not in text
    assert r.json()["legal_representative"] == w.ent.rep.name[0] + "**"
    assert s["37"]["records"][0]["data"]["证件号码"].startswith(w.ent.rep.resident_id[:6] + "********")
    assert s["base"]["records"][0]["data"]["法定代表人姓名"] == w.ent.rep.name[0] + "**"
    for raw in ("723456.12", "8123.45", "城镇土地使用税", "456789.01", "0012345", "1234.56"):
        assert raw not in text


def test_authorized_categories_give_products_never_raw_values(client, session, records):
    w = records
    a = grant(session, w, ["1", "2", "10", "27"])
    r = view(client, w)
    assert r.status_code == 200
    s = sections(r)
    assert s["1"]["form"] == "processed" and s["1"]["authorization_id"] == a.id
    products = {p["code"]: p["value"] for p in s["1"]["products"]}
    assert products["vat_paid_band"] == "50万-100万元" and products["tax_streak"] == "12-24个月"
    assert {p["code"]: p["value"] for p in s["2"]["products"]}["tax_arrears"] == "存在欠税"
    assert {p["code"]: p["value"] for p in s["10"]["products"]}["insured_band"] == "10-49人"
    assert s["27"]["form"] == "verification" and "records" not in s["27"] and "products" not in s["27"]
    assert s["4"]["status"] == "未授权"
    for raw in ("723456.12", "8123.45", "城镇土地使用税", "456789.01", "345678.02", "55555.55", "0012345"):
        assert raw not in r.text


def test_each_disclosure_is_recorded_with_a_ledger_entry_and_shown_to_the_enterprise(client, session, records):
    w = records
    a = grant(session, w, ["1"])
    r = view(client, w, purpose="pre_loan", headers=None)
    block = r.json()["disclosure"]
    row = session.get(Disclosure, block["id"])
    assert row.subject_uscc == w.ent.uscc and row.party_subject == str(w.bank.id)
    assert row.forms["1"] == "processed" and row.forms["4"] == "none" and "1" in row.categories
    assert row.authorization_ids == [a.id] and row.purpose == "pre_loan"
    assert row.request_id == r.headers["x-request-id"]
    entry = session.get(LedgerEntry, block["ledger_index"])
    assert entry.kind == "disclosure" and entry.document["payload"]["disclosure_id"] == row.id
    assert block["leaf_hash"] == bytes(entry.leaf_hash).hex()
    assert block["proof"] == f"/api/v1/ledger/entries/{block['ledger_index']}/proof"
    used = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "authorization.used"))
    assert used.document["payload"]["authorization_id"] == a.id
    session.expire_all()
    assert session.get(Authorization, a.id).use_count == 1 and count(session, AuthorizationUse) == 1
    mine = client.get("/api/v1/me/disclosures", headers=auth(w.ent_token)).json()
    assert [d["id"] for d in mine] == [row.id]
    assert mine[0]["party"]["name"] == "测试银行南京分行" and mine[0]["authorization_ids"] == [a.id]
    assert mine[0]["receipt"]["ledger_index"] == block["ledger_index"]
    for token in (w.ent_token, w.bank_token):
        proof = client.get(block["proof"], headers=auth(token))
        assert proof.status_code == 200, proof.text
    assert client.get(block["proof"], headers=auth(w.bank_b_token)).status_code == 403
    assert client.get(block["proof"], headers=auth(w.other_token)).status_code == 403


@pytest.mark.parametrize("target", ["ledger", "record"])
def test_when_the_record_or_ledger_cannot_be_written_nothing_is_disclosed(client, session, records, monkeypatch,
                                                                            target):
    w = records
    grant(session, w, ["1", "10"])
    before = (count(session, Disclosure), count(session, LedgerEntry))

    def broken(*_a, **_k):  # fault injection
        raise RuntimeError("disk full")

    if target == "ledger":
        monkeypatch.setattr("fincredit.ledger.service.append_many", broken)
        monkeypatch.setattr("fincredit.ledger.service.append", broken)
    else:
        monkeypatch.setattr("fincredit.disclosure.repository.disclosure_insert", broken)
    r = view(client, w)
    assert r.status_code == 503 and error_code(r) == "disclosure_not_recorded"
    assert set(r.json()) == {"error"} and w.ent.name not in r.text and "50万" not in r.text
    assert (count(session, Disclosure), count(session, LedgerEntry)) == before
    v = client.post("/api/v1/verifications", headers=auth(w.bank_token),
                    json={"uscc": w.ent.uscc, "category": "10", "claims": {"职工工资总额": "456789.01"}})
    assert v.status_code == 503 and "match" not in v.text


def test_verification_answers_match_only_under_authorization(client, session, records):
    w = records
    url = "/api/v1/verifications"
    claim = {"uscc": w.ent.uscc, "category": "27", "claims": {"不动产单元号": "320102001001GB00001F00010001"}}
    r = client.post(url, json=claim, headers=auth(w.bank_token))
    assert r.status_code == 403 and error_code(r) == "not_authorized"
    grant(session, w, ["27", "10"])
    r = client.post(url, json=claim, headers=auth(w.bank_token))
    assert r.status_code == 200, r.text
    assert r.json()["match"] is True and r.json()["fields"] == {"不动产单元号": True}
    wrong = {**claim, "claims": {"不动产单元号": "320102001001GB00001F00010001", "面积": "99.00"}}
    r = client.post(url, json=wrong, headers=auth(w.bank_token))
    assert r.json()["match"] is False and r.json()["fields"] == {"不动产单元号": True, "面积": False}
    assert "1234.56" not in r.text
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "10",
                                                          "claims": {"本月实缴金额合计(元)": "55555.550"}})
    assert r.status_code == 200 and r.json()["match"] is True
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "10", "claims": {
        "缴费年月": "2024-04", "本月实缴金额合计(元)": "55555.55"}})  # a natural-key selector picks the month
    assert r.status_code == 200 and r.json()["match"] is False and r.json()["fields"] == {"本月实缴金额合计(元)": False}
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "10",
                                                          "claims": {"参保人数": 37, "职工工资总额": "1"}})
    assert r.status_code == 422 and error_code(r) == "field_not_verifiable"
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "1",
                                                          "claims": {"近一年增值税实际缴税金额(元)": "1"}})
    assert r.status_code == 422 and error_code(r) == "category_not_verifiable"
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "77", "claims": {"a": 1}})
    assert r.status_code == 422 and error_code(r) == "unknown_category"
    r = client.post(url, headers=auth(w.bank_token), json={"uscc": w.ent.uscc, "category": "27", "claims": {}})
    assert r.status_code == 422
    kinds = [d.kind for d in session.scalars(select(Disclosure))]
    assert kinds.count("verification") == 4


def test_enterprise_sees_all_its_own_data_raw(client, session, records):
    w = records
    r = client.get("/api/v1/me/credit", headers=auth(w.ent_token))
    assert r.status_code == 200, r.text
    s = {c["code"]: c for c in r.json()["categories"]}
    assert s["1"]["records"][0]["data"]["近一年增值税实际缴税金额(元)"] == "723456.12"
    assert s["10"]["records"][0]["data"]["职工工资总额"] == "456789.01"
    assert s["27"]["records"][0]["data"]["面积"] == "1234.56"
    assert s["37"]["records"][0]["data"]["证件号码"] == w.ent.rep.resident_id
    assert s["base"]["records"][0]["data"]["法定代表人证件号码"] == w.ent.rep.resident_id
    assert w.witness.resident_id in r.text  # its own court record, raw
    assert "近一年增值税实际缴税金额(元)" in s["1"]["fields"]
    assert len(s) == len(client.get("/api/v1/catalog").json()["categories"])
    assert count(session, Disclosure) == 0  # self-access is free and not a disclosure to anyone


def test_rate_limit_returns_429_with_retry_after(client, session, records, monkeypatch):
    from fincredit.db import clear_content_caches

    monkeypatch.setenv("FINCREDIT_INSTITUTION_RATE_PER_MINUTE", "3")
    clear_content_caches()
    try:
        codes = [view(client, records).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = view(client, records)
        assert error_code(r) == "rate_limited" and int(r.headers["retry-after"]) >= 1
        assert view(client, records, token=records.bank_b_token).status_code == 200  # per institution
    finally:
        monkeypatch.delenv("FINCREDIT_INSTITUTION_RATE_PER_MINUTE")
        clear_content_caches()


def test_sweeping_many_unrelated_enterprises_alerts_the_operator(client, session, world, monkeypatch):
    from fincredit.db import clear_content_caches

    monkeypatch.setenv("FINCREDIT_SCRAPE_ALERT_THRESHOLD", "3")
    clear_content_caches()
    try:
        targets = [f.make_enterprise(session) for _ in range(4)]
        f.grant(session, targets[0], world.bank, ["1"])  # a related one does not count
        session.commit()
        for t in targets[:3]:
            assert client.get(f"/api/v1/enterprises/{t.uscc}", headers=auth(world.bank_token)).status_code == 200
        assert count(session, OperatorAlert) == 0
        client.get(f"/api/v1/enterprises/{targets[3].uscc}", headers=auth(world.bank_token))
        client.get(f"/api/v1/enterprises/{targets[3].uscc}", headers=auth(world.bank_token))
        assert count(session, OperatorAlert) == 1
        alerts = client.get("/api/v1/operator-alerts", headers=auth(world.admin_token)).json()
        assert alerts[0]["kind"] == "possible_scraping" and alerts[0]["details"]["distinct_enterprises"] == 3
        assert client.get("/api/v1/operator-alerts", headers=auth(world.bank_token)).status_code == 403
        ack = client.post(f"/api/v1/operator-alerts/{alerts[0]['id']}/ack", headers=auth(world.admin_token))
        assert ack.status_code == 204
    finally:
        monkeypatch.delenv("FINCREDIT_SCRAPE_ALERT_THRESHOLD")
        clear_content_caches()


def test_unknown_enterprise_is_404_and_not_recorded(client, session, world):
    r = client.get(f"/api/v1/enterprises/{f.make_uscc()}", headers=auth(world.bank_token))
    assert r.status_code == 404 and error_code(r) == "enterprise_not_found"
    r = client.get("/api/v1/enterprises/short", headers=auth(world.bank_token))
    assert r.status_code == 404
    r = client.get(f"/api/v1/enterprises/{world.ent.uscc}", params={"purpose": "marketing"},
                   headers=auth(world.bank_token))
    assert r.status_code == 422 and error_code(r) == "unknown_purpose"
    assert count(session, Disclosure) == 0


def test_purpose_of_the_query_must_be_served_by_the_authorization(client, session, records):
    w = records
    grant(session, w, ["1"], purpose="pre_loan")
    assert sections(view(client, w, purpose="pre_loan"))["1"]["form"] == "processed"
    assert sections(view(client, w, purpose="post_loan"))["1"]["form"] == "none"
    assert sections(view(client, w))["1"]["form"] == "processed"
    f.grant(session, w.ent, None, [], purpose="sucode", days=100)
    session.commit()
    assert sections(view(client, w, purpose="sucode"))["1"]["form"] == "none"


def test_data_period_limits_products(client, session, records):
    w = records
    grant(session, w, ["1"], data_to=dt.date(2020, 1, 1))
    products = {p["code"]: p["value"] for p in sections(view(client, w))["1"]["products"]}
    assert products["vat_paid_band"] == "无记录"


def test_concurrent_queries_under_one_authorization_are_each_counted_recorded_and_logged(client, session, records):
    """Several threads query at once (as the API's threadpool does): every answer has its own
    disclosure row and ledger entries, every use is counted, and the ledger still verifies."""
    import base64
    import threading

    from fincredit.crypto import get_keyring
    from fincredit.ledger.audit import audit
    from fincredit.ledger.verifier import key_id

    w = records
    a = grant(session, w, ["1", "10"])
    answers, errors = [], []

    def query() -> None:
        try:
            for _ in range(3):
                r = view(client, w, purpose="pre_loan")
                assert r.status_code == 200, r.text
                answers.append(r.json()["disclosure"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(answers) == 12 and len({b["id"] for b in answers}) == 12
    assert len({b["ledger_index"] for b in answers}) == 12
    session.expire_all()
    assert count(session, Disclosure) == 12
    assert session.get(Authorization, a.id).use_count == 12 and count(session, AuthorizationUse) == 12
    for block in answers:
        row = session.get(Disclosure, block["id"])
        entry = session.get(LedgerEntry, block["ledger_index"])
        assert row.ledger_index == block["ledger_index"] and row.leaf_hash == block["leaf_hash"]
        assert entry.document["payload"]["disclosure_id"] == row.id
    ring = get_keyring()
    assert audit(session.connection(), {key_id(base64.b64decode(ring.public_key_b64())): ring.public_key}).ok

