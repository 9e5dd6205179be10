"""Loading holiday schedules through the API and the CLI, and deadlines on the stored calendar."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fincredit.objections import calendar_service
from fincredit.objections.calendar import SHANGHAI
from fincredit.objections.calendar_models import HolidaySchedule
from tests.helpers import auth

SCHEDULE_2027 = {
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
    "workdays": ["2027-01-09"],
    "source": "国务院办公厅关于2027年部分节假日安排的通知",
}


def put(client, token, year, body):
    return client.put(f"/api/v1/calendar/{year}", json=body, headers=auth(token))


def stored_count(session) -> int:
    session.rollback()  # see what the requests committed
    return session.scalar(select(func.count()).select_from(HolidaySchedule))


def test_load_and_read_back_a_2027_schedule(client, admin_token):
    before = client.get("/api/v1/calendar/2027", headers=auth(admin_token)).json()
    assert before["source"] == "weekends_only"
    assert before["holidays"] == [] and before["versions"] == []
    assert "2027年" in before["warnings"][0]

    r = put(client, admin_token, 2027, {**SCHEDULE_2027, "note": "首次加载"})
    assert r.status_code == 200, r.text
    stored = r.json()
    assert stored["year"] == 2027 and stored["version"] == 1
    assert stored["holidays"] == SCHEDULE_2027["holidays"]
    assert stored["workdays"] == ["2027-01-09"]
    assert stored["note"] == "首次加载" and stored["loaded_by"] == "operator"

    view = client.get("/api/v1/calendar/2027", headers=auth(admin_token)).json()
    assert view["source"] == "loaded" and view["version"] == 1
    assert "第 1 版" in view["source_label"]
    assert view["holidays"] == SCHEDULE_2027["holidays"]
    assert view["workdays"] == ["2027-01-09"]
    assert [v["version"] for v in view["versions"]] == [1]
    assert view["warnings"] == []


def test_a_second_load_creates_version_2_and_keeps_version_1(client, admin_token):
    assert put(client, admin_token, 2027, SCHEDULE_2027).status_code == 200
    corrected = {**SCHEDULE_2027, "holidays": ["2027-01-01"], "workdays": [], "source": "更正通知"}
    r = put(client, admin_token, 2027, corrected)
    assert r.status_code == 200 and r.json()["version"] == 2

    view = client.get("/api/v1/calendar/2027", headers=auth(admin_token)).json()
    assert view["version"] == 2 and view["holidays"] == ["2027-01-01"] and view["workdays"] == []
    assert [v["version"] for v in view["versions"]] == [1, 2]

    old = client.get("/api/v1/calendar/2027/versions/1", headers=auth(admin_token))
    assert old.status_code == 200 and old.json()["holidays"] == SCHEDULE_2027["holidays"]
    missing = client.get("/api/v1/calendar/2027/versions/3", headers=auth(admin_token))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "holiday_schedule_not_found"


def test_a_year_covered_by_the_package(client, admin_token):
    view = client.get("/api/v1/calendar/2026", headers=auth(admin_token)).json()
    assert view["source"] == "package" and view["version"] is None
    assert "2026-10-01" in view["holidays"] and "2026-10-10" in view["workdays"]


@pytest.mark.parametrize(("body", "field"), [
    ({**SCHEDULE_2027, "holidays": ["2026-12-31", "2027-01-01"]}, "holidays[0]"),  # outside the year
    ({**SCHEDULE_2027, "workdays": ["2027-01-02"]}, "workdays"),  # also a holiday
    ({**SCHEDULE_2027, "workdays": ["2027-01-06"]}, "workdays"),  # a Wednesday
    ({**SCHEDULE_2027, "holidays": "2027-01-01"}, "holidays"),  # wrong type
    ({**SCHEDULE_2027, "holidays": [20270101]}, "holidays[0]"),  # wrong type
    ({**SCHEDULE_2027, "holidays": []}, "holidays"),
    ({**SCHEDULE_2027, "source": None}, "source"),
    (["2027-01-01"], ""),  # not an object
])
def test_malformed_schedules_are_refused_and_nothing_is_stored(client, admin_token, session, body, field):
    r = put(client, admin_token, 2027, body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_holiday_schedule"
    assert error["message"].startswith("节假日安排不合法")
    assert field in [d["field"] for d in error["details"]]
    assert stored_count(session) == 0


def test_a_body_that_is_not_json_is_refused(client, admin_token, session):
    r = client.put("/api/v1/calendar/2027", content=b"{holidays: 2027-01-01",
                   headers={**auth(admin_token), "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "bad_holiday_schedule"
    assert "JSON" in r.json()["error"]["message"]
    assert stored_count(session) == 0


def test_years_outside_2000_to_2100_are_refused(client, admin_token):
    r = put(client, admin_token, 2101, {**SCHEDULE_2027, "holidays": ["2101-01-01"], "workdays": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_holiday_schedule"
    assert client.get("/api/v1/calendar/1999", headers=auth(admin_token)).status_code == 422


@pytest.mark.parametrize("role", ["provider", "institution", "enterprise", "platform"])
def test_only_the_operator_may_load_or_read_schedules(client, make_token, session, role):
    token = make_token(role, f"{role}-1")
    assert put(client, token, 2027, SCHEDULE_2027).status_code == 403
    assert put(client, token, 2027, "not even a schedule").status_code == 403
    assert client.get("/api/v1/calendar/2027", headers=auth(token)).status_code == 403
    assert client.get("/api/v1/calendar/2027/versions/1", headers=auth(token)).status_code == 403
    assert client.get("/api/v1/calendar", headers=auth(token)).status_code == 403
    assert client.put("/api/v1/calendar/2027", json=SCHEDULE_2027).status_code == 401
    assert stored_count(session) == 0


def test_loading_2027_moves_a_deadline_and_makes_it_official(client, admin_token, session):
    filed = dt.datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI)
    before = calendar_service.compute_forward_deadline(session, filed)
    assert before.deadline_date == dt.date(2027, 1, 4)
    assert before.calendar_basis == "weekends_only" and before.warnings
    assert calendar_service.years_without_data(session, [2026, 2027]) == [2027]

    assert put(client, admin_token, 2027, SCHEDULE_2027).status_code == 200
    session.rollback()
    after = calendar_service.compute_forward_deadline(session, filed)
    assert after.deadline_date == dt.date(2027, 1, 5)
    assert after.calendar_basis == "official" and after.warnings == ()
    assert calendar_service.years_without_data(session, [2026, 2027]) == []


def test_the_calendar_is_cached_until_a_schedule_is_loaded(session):
    first = calendar_service.get_calendar(session)
    assert calendar_service.get_calendar(session) is first
    calendar_service.load_schedule(session, 2027, SCHEDULE_2027, loaded_by="test")
    assert calendar_service.get_calendar(session) is not first
    assert calendar_service.get_calendar(session).source_for(2027) == "loaded"


def test_forward_deadline_of_30_september_2026(session):
    result = calendar_service.compute_forward_deadline(
        session, dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    assert result.deadline.isoformat() == "2026-10-09T23:59:59+08:00"
    assert result.calendar_basis == "official"


def test_status_lists_years_in_use_without_data(client, admin_token, session):
    november = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
    status = calendar_service.calendar_status(session, now=november)
    assert status["years_without_data"] == [2027] and "2027年" in status["warnings"][0]
    assert status["package_years"] == [2004, 2026]
    assert calendar_service.calendar_status(session, now=november.replace(month=6))["years_without_data"] == []

    r = client.get("/api/v1/calendar", headers=auth(admin_token))
    assert r.status_code == 200 and "years_without_data" in r.json()


def test_cli_load_show_and_deadline(db, tmp_path, session):
    from fincredit.cli import app

    runner = CliRunner()
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8")

    before = runner.invoke(app, ["calendar", "deadline", "2026-12-31T10:00+08:00", "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["calendar_basis"] == "weekends_only"

    loaded = runner.invoke(app, ["calendar", "load", "2027", str(path)])
    assert loaded.exit_code == 0, loaded.output
    assert "第 1 版" in loaded.stdout

    shown = runner.invoke(app, ["calendar", "show", "2027", "--json"])
    assert json.loads(shown.stdout)["version"] == 1

    after = runner.invoke(app, ["calendar", "deadline", "2026-12-31T10:00+08:00", "--json"])
    assert json.loads(after.stdout)["deadline_date"] == "2027-01-05"
    assert json.loads(after.stdout)["calendar_basis"] == "official"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SCHEDULE_2027, "workdays": ["2027-01-06"]}), encoding="utf-8")
    refused = runner.invoke(app, ["calendar", "load", "2027", str(bad)])
    assert refused.exit_code == 1
    assert stored_count(session) == 1

    naive = runner.invoke(app, ["calendar", "deadline", "2026-12-31T10:00"])
    assert naive.exit_code == 1
