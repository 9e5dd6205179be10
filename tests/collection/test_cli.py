"""The collection commands: provider add / token / list / endpoint, ingest, quality."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fincredit.auth.service import resolve_token
from fincredit.cli import app
from fincredit.db import session_scope
from tests.collection import factories

runner = CliRunner()


def test_provider_commands(db):
    r = runner.invoke(app, ["provider", "add", "nj_water", "南京水务", "--category", "31", "--category", "33"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["provider", "token", "nj_water"])
    assert r.exit_code == 0
    token = r.stdout.strip()
    assert "\n" not in token and token.startswith("fcp_")
    with session_scope() as s:
        principal = resolve_token(s, token)
    assert (principal.role.value, principal.subject) == ("provider", "nj_water")
    listed = json.loads(runner.invoke(app, ["provider", "list", "--json"]).stdout)
    assert [(p["code"], p["categories"]) for p in listed] == [("nj_water", ["31", "33"])]
    r = runner.invoke(app, ["provider", "add", "bad", "坏", "--category", "88"])
    assert r.exit_code != 0 and "88" in r.output
    r = runner.invoke(app, ["provider", "endpoint", "nj_water", "--url", "http://example.com/x", "--secret", "s" * 20])
    assert r.exit_code != 0 and "HTTPS" in r.output


def test_ingest_command_summary_and_exit_status(tmp_path, db):
    good = factories.to_csv(factories.rows("1", 4), tmp_path / "tax.csv", encoding="gbk")
    r = runner.invoke(app, ["ingest", "--provider", "tax", "--category", "1", str(good), "--encoding", "gbk"])
    assert r.exit_code == 0, r.output
    assert "accepted" in r.stdout and "入库 4" in r.stdout
    r = runner.invoke(app, ["ingest", "--provider", "tax", "--category", "1", str(good), "--json"])
    body = json.loads(r.stdout)
    assert r.exit_code == 0 and body["duplicate"] is True and body["accepted"] == 4
    wrong = factories.to_csv(factories.rows("2", 2), tmp_path / "arrears.csv")
    r = runner.invoke(app, ["ingest", "--provider", "tax", "--category", "1", str(wrong), "--json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout)["status"] == "rejected"
    bad = factories.rows("1", 3, start=50)
    bad[0]["连续正常缴税周期(月)"] = "x"
    r = runner.invoke(app, ["ingest", "--provider", "tax", "--category", "1",
                            str(factories.to_csv(bad, tmp_path / "b.csv")), "--mode", "all_or_nothing"])
    assert r.exit_code == 1 and "rejected" in r.stdout
    r = runner.invoke(app, ["ingest", "--provider", "tax", "--category", "5", str(good)])
    assert r.exit_code == 2 and "不负责" in r.output
    r = runner.invoke(app, ["ingest", "--provider", "nobody", "--category", "1", str(good)])
    assert r.exit_code == 2 and "未登记" in r.output


def test_quality_command(tmp_path, db):
    runner.invoke(app, ["ingest", "--provider", "tax", "--category", "1",
                        str(factories.to_csv(factories.rows("1", 4), tmp_path / "t.csv"))])
    rows = json.loads(runner.invoke(app, ["quality", "--json", "--category", "1"]).stdout)
    assert [(r["provider"], r["category"], r["accuracy"]["rows_total"]) for r in rows] == [("tax", "1", 4)]
    table = runner.invoke(app, ["quality"])
    assert table.exit_code == 0 and "归集质量" in table.stdout
