"""Subscriptions to scheduled pushes of public information by region and industry (§8)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from fincredit.db import session_scope, utcnow
from fincredit.monitoring.subscriptions import push_due
from fincredit.registry.models import Enterprise
from tests.helpers import auth, error_code
from tests.monitoring.world import World, ingest_rows, make_world


@pytest.fixture
def world(fast_settings) -> World:
    world = make_world()
    with session_scope() as s:  # the other enterprise is in 苏州 and trades
        other = s.get(Enterprise, world.other.uscc)
        other.region_code, other.industry_code = "320505", "F5191"
    return world


def subscribe(client, world: World, **body):
    body = {"regions": ["320100"], "industries": ["C"], "schedule": "daily", "delivery": "file", **body}
    return client.post("/api/v1/subscriptions", json=body, headers=auth(world.bank_token))


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"regions": ["320199"]}, 422, "unknown_region"),
    ({"regions": ["110000"]}, 422, "unknown_region"),
    ({"regions": ["南京"]}, 422, "unknown_region"),
    ({"regions": []}, 422, "validation_failed"),
    ({"industries": ["Z99"]}, 422, "unknown_industry"),
    ({"industries": ["C51"]}, 422, "unknown_industry"),  # division 51 is in section F
    ({"schedule": "hourly"}, 422, "validation_failed"),
    ({"delivery": "webhook"}, 422, "webhook_required"),
])
def test_bad_subscriptions_are_refused_clearly(client, world, body, status, code):
    r = subscribe(client, world, **body)
    assert (r.status_code, error_code(r)) == (status, code), r.text
    assert client.get("/api/v1/subscriptions", headers=auth(world.bank_token)).json()["items"] == []


def listing(ent, number: str) -> dict:
    return {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "失信名单类别": "失信被执行人", "认定文号": number,
            "法定代表人": ent.rep.name, "法定代表人证件类型": "居民身份证", "法定代表人证件号码": ent.rep.resident_id,
            "确认严重违法失信日期": "2024-06-01"}


def test_a_daily_push_carries_new_public_records_of_the_region_masked(client, world):
    r = subscribe(client, world)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["regions"] == ["320100"] and sub["industries"] == ["C"]
    due = dt.datetime.fromisoformat(sub["next_due_at"])
    assert due > utcnow() and due.astimezone(dt.timezone(dt.timedelta(hours=8))).hour == 7

    ingest_rows("36", [listing(world.ent, "（2024）苏01执1号"), listing(world.other, "（2024）苏05执2号")])
    ingest_rows("2", [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "税种": "增值税",
                       "欠税金额(元)": "5000", "当前是否欠税": True}])  # not public: never pushed
    with session_scope() as s:
        assert push_due(s, now=utcnow()) == 0  # not due yet
        assert push_due(s, now=due + dt.timedelta(minutes=1)) == 1

    [push] = client.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=auth(world.bank_token)).json()["items"]
    assert push["number"] == 1 and push["record_count"] == 1
    r = client.get(push["download"], headers=auth(world.bank_token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(row["信息类编码"], row["统一社会信用代码"]) for row in rows] == [("36", world.ent.uscc)]
    content = json.loads(rows[0]["内容"])
    assert content["法定代表人"] == world.ent.rep.name[0] + "**"
    assert world.ent.rep.resident_id not in r.text and content["法定代表人证件号码"].startswith("320")
    assert client.get(push["download"], headers=auth(world.other_bank_token)).status_code == 404

    # The next push has only what arrived since; the schedule moved a day on.
    ingest_rows("36", [listing(world.ent, "（2024）苏01执3号")])
    with session_scope() as s:
        assert push_due(s, now=due + dt.timedelta(days=1, minutes=1)) == 1
    pushes = client.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=auth(world.bank_token)).json()
    assert [(p["number"], p["record_count"]) for p in pushes["items"]] == [(2, 1), (1, 1)]

    assert client.delete(f"/api/v1/subscriptions/{sub['id']}", headers=auth(world.bank_token)).status_code == 204
    assert client.get("/api/v1/subscriptions", headers=auth(world.bank_token)).json()["items"] == []


def test_the_whole_province_and_any_industry(client, world):
    r = subscribe(client, world, regions=["320000"], industries=[], schedule="weekly")
    assert r.status_code == 201, r.text
    ingest_rows("36", [listing(world.ent, "（2024）苏01执9号"), listing(world.other, "（2024）苏05执9号")])
    with session_scope() as s:
        assert push_due(s, now=utcnow() + dt.timedelta(days=2)) == 1
    [push] = client.get(f"/api/v1/subscriptions/{r.json()['id']}/deliveries",
                        headers=auth(world.bank_token)).json()["items"]
    assert push["record_count"] == 2
