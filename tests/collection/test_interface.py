"""On-demand interface calls against the provider simulator, and verification-only answers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from sqlalchemy import select

from fincredit.collection import provider_service
from fincredit.collection.interface import ProviderUnavailable, fetch_on_demand
from fincredit.collection.models import InterfaceFetch, Record
from fincredit.collection.parsers import iter_records
from fincredit.collection.simulator import create_simulator
from fincredit.collection.verification import person_subject_key, verify_claims
from fincredit.db import session_scope, utcnow
from fincredit.errors import DomainError
from fincredit.settings import get_settings
from tests.collection import factories
from tests.helpers import auth, error_code

SECRET = "simulator-secret-0123456789"


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("FINCREDIT_ALLOW_LOOPBACK_PROVIDERS", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("FINCREDIT_ALLOW_LOOPBACK_PROVIDERS")
    get_settings.cache_clear()


@pytest.fixture
def province(tmp_path):
    rows = factories.rows("1", 3)
    factories.to_jsonl(rows, tmp_path / "01-tax.jsonl")
    factories.to_csv(factories.rows("base", 3), tmp_path / "base-amr.csv")
    persons = factories.rows("8", 2)
    persons[0]["证件号码"] = factories.resident_id(0)  # the legal representative of enterprise 0
    factories.to_jsonl(persons, tmp_path / "08-court.jsonl")
    return tmp_path, rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(province):
    directory, _rows = province
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_simulator(directory, secret=SECRET), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _register(url: str, secret: str = SECRET, code: str = "tax", categories=("1", "8")) -> None:
    with session_scope() as s:
        provider_service.register_provider(s, code=code, name="省税务局", categories=list(categories))
        provider_service.set_endpoint(s, code, url=url, secret=secret)


def test_fetch_on_demand_caches_for_the_update_cycle(db, loopback, served, province):
    _, rows = province
    _register(served)
    uscc = rows[1]["统一社会信用代码"]
    with session_scope() as s:
        first = fetch_on_demand(s, "1", uscc, "auth-1")
        assert first.source == "interface" and first.fetched_rows == 1
        assert [(r.subject_key, r.fetched_via, r.batch_id, r.provider_code) for r in first.records] == [
            (uscc, "interface", None, "tax")]
        assert first.records[0].data["企业名称"] == rows[1]["企业名称"]
    with session_scope() as s:
        assert fetch_on_demand(s, "1", uscc, "auth-2").source == "cache"
        later = fetch_on_demand(s, "1", uscc, "auth-3", now=utcnow() + dt.timedelta(days=32))
        assert later.source == "interface" and len(later.records) == 1
        assert len(s.scalars(select(Record)).all()) == 1  # unchanged: not stored twice
        assert [f.authorization_ref for f in s.scalars(select(InterfaceFetch).order_by(InterfaceFetch.id))] == [
            "auth-1", "auth-3"]
    _ingest("base", factories.rows("base", 3), province[0])
    with session_scope() as s:  # person category, answered for the legal representative
        persons = fetch_on_demand(s, "8", rows[0]["统一社会信用代码"], "auth-4")
        assert [(r.subject_kind, r.subject_key) for r in persons.records] == [
            ("person", person_subject_key(factories.resident_id(0)))]
        assert factories.resident_id(0) not in json.dumps(persons.records[0].data)


def test_bad_signature_and_unreachable_provider(db, loopback, served, province):
    _, rows = province
    _register(served, secret="another-secret-0123456789")
    with session_scope() as s, pytest.raises(ProviderUnavailable) as exc:
        fetch_on_demand(s, "1", rows[0]["统一社会信用代码"], "auth-1")
    assert exc.value.status_code == 502 and "401" in exc.value.message
    with session_scope() as s:
        provider_service.set_endpoint(s, "tax", url=f"http://127.0.0.1:{_free_port()}", secret=SECRET)
    with session_scope() as s, pytest.raises(ProviderUnavailable):
        fetch_on_demand(s, "1", rows[0]["统一社会信用代码"], "auth-1")


def test_retries_with_backoff_then_stale_cache(db, loopback, province):
    _, rows = province
    calls = []
    flaky = FastAPI()

    @flaky.get("/records")
    def records(category: str, uscc: str):  # type: ignore[no-untyped-def]
        calls.append(uscc)
        if len(calls) in (1, 2, 4, 5, 6):
            return Response(status_code=503)
        return {"rows": [r for r in rows if r["统一社会信用代码"] == uscc] + [rows[2]]}

    _register("http://127.0.0.1:9")
    uscc = rows[0]["统一社会信用代码"]
    with TestClient(flaky) as client, session_scope() as s:
        result = fetch_on_demand(s, "1", uscc, "a", client=client)
        assert result.source == "interface" and len(calls) == 3
        assert [r.subject_key for r in result.records] == [uscc]  # a row about someone else is not stored
        stale = fetch_on_demand(s, "1", uscc, "b", client=client, force=True)
        assert stale.source == "stale" and len(calls) == 6 and len(stale.records) == 1


def test_endpoint_registration_rules(client, admin_token, provider, monkeypatch):
    provider("tax", ("1",))
    put = lambda url, secret=SECRET: client.put("/api/v1/providers/tax/endpoint",  # noqa: E731
                                                json={"url": url, "secret": secret}, headers=auth(admin_token))
    assert error_code(put("http://127.0.0.1:8600")) == "private_endpoint_refused"
    assert error_code(put("http://tax.example.gov.cn/api")) == "endpoint_not_https"
    assert error_code(put("https://10.1.2.3/api")) == "private_endpoint_refused"
    assert put("https://tax.example.gov.cn/api", secret="short").status_code == 422
    r = put("https://tax.example.gov.cn/api")
    assert r.status_code == 200 and r.json()["endpoint_url"] == "https://tax.example.gov.cn/api"
    assert "secret" not in json.dumps(r.json())
    monkeypatch.setenv("FINCREDIT_ALLOW_LOOPBACK_PROVIDERS", "true")
    get_settings.cache_clear()
    try:
        assert put("http://127.0.0.1:8600").status_code == 200
    finally:
        monkeypatch.delenv("FINCREDIT_ALLOW_LOOPBACK_PROVIDERS")
        get_settings.cache_clear()


def test_only_interface_categories_are_fetched(db):
    with session_scope() as s, pytest.raises(DomainError) as exc:
        fetch_on_demand(s, "4", "91320100000000001X", "a")
    assert exc.value.code == "not_interface_category"


def _ingest(code: str, rows: list[dict], tmp_path) -> None:
    from fincredit.collection import service

    with session_scope() as s:
        provider_service.ensure_catalog_provider(s, factories.CATEGORIES[code].provider)
        result = service.ingest(s, provider_code=factories.CATEGORIES[code].provider, category_code=code,
                                upload=service.uploaded_file(factories.to_csv(rows, tmp_path / f"{code}.csv")))
        assert result.batch.status == "accepted", result.batch.error_summary


def test_verification_answers_match_without_values(tmp_path, db, session):
    estates = factories.rows("27", 2, subjects=1)
    estates[0]["坐落"], estates[0]["面积"] = "南京市玄武区北京东路1号", "120.5"
    _ingest("27", estates, tmp_path)
    owner = estates[0]["权利人证件号"]
    stored = session.scalars(select(Record).where(Record.category_code == "27")).all()
    assert all("南京市玄武区" not in json.dumps(r.data, ensure_ascii=False) for r in stored)
    answer = verify_claims(session, "27", owner, {"坐落": "南京市玄武区北京东路1号", "面积": "120.50"})
    assert answer == {"match": True, "fields": {"坐落": True, "面积": True}}
    answer = verify_claims(session, "27", owner, {"坐落": "南京市玄武区北京东路1号", "面积": "99"})
    assert answer == {"match": False, "fields": {"坐落": True, "面积": False}}
    assert verify_claims(session, "27", "91320100999999999X", {"面积": "120.5"})["match"] is False
    with pytest.raises(DomainError) as exc:
        verify_claims(session, "27", owner, {"不存在的字段": "1"})
    assert exc.value.code == "unknown_claim_field"
    with pytest.raises(DomainError) as exc:
        verify_claims(session, "1", owner, {"企业名称": "x"})
    assert exc.value.code == "not_verification_category"


def test_verification_of_social_insurance_and_persons(tmp_path, db, session):
    pay = factories.rows("10", 2, subjects=1)
    pay[0]["缴费年月"], pay[0]["职工工资总额"] = "2024-03", "100000"
    pay[1]["缴费年月"], pay[1]["职工工资总额"] = "2024-04", "80000"
    _ingest("10", pay, tmp_path)
    uscc = pay[0]["统一社会信用代码"]
    stored = session.scalars(select(Record).where(Record.category_code == "10")).all()
    assert all(r.data["职工工资总额"].startswith("sm4gcm:") and r.data["参保人数"] is not None for r in stored)
    assert verify_claims(session, "10", uscc, {"缴费年月": "2024-03", "职工工资总额": "100000.00"})["match"]
    assert not verify_claims(session, "10", uscc, {"缴费年月": "2024-04", "职工工资总额": "100000"})["match"]
    homes = factories.rows("29", 1)
    _ingest("29", homes, tmp_path)
    key = person_subject_key(homes[0]["证件号码"])
    assert verify_claims(session, "29", key, {"不动产单元号": homes[0]["不动产单元号"]})["match"]


def test_simulator_serves_a_synthetic_province(synth_province):
    import hmac as hmac_module

    from fincredit.collection.interface import sign_request

    app = create_simulator(synth_province.directory, secret=SECRET)
    power = synth_province.file("14")
    with TestClient(app) as sim:
        assert "14" in sim.get("/healthz").json()["categories"]
        with iter_records(synth_province.directory / power.path, fields=factories.CATEGORIES["14"].fields) as parsed:
            uscc = next(raw for _row, raw in parsed)["统一社会信用代码"]
        target = f"/records?category=14&uscc={uscc}"
        ts = str(int(time.time()))
        signed = {"X-Fincredit-Timestamp": ts, "X-Fincredit-Authorization": "auth-1",
                  "X-Fincredit-Signature": sign_request(SECRET, ts, "GET", target, "auth-1")}
        body = sim.get(target, headers=signed).json()
        assert body["rows"] and all(r["统一社会信用代码"] == uscc for r in body["rows"])
        assert sim.get(target).status_code == 401
        forged = dict(signed, **{"X-Fincredit-Signature": hmac_module.new(b"x", b"y", "sm3").hexdigest()})
        assert sim.get(target, headers=forged).status_code == 401
        assert sim.get("/records?category=4&uscc=x", headers=signed).status_code in (401, 404)
