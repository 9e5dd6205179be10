"""``fincredit institution``: onboarding from the command line."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from fincredit.cli import app
from tests.helpers import auth, error_code


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["institution", *args])


def test_onboarding_from_the_command_line(client):
    r = run("add", "南通农村商业银行", "--kind", "bank", "--region", "320600")
    assert r.exit_code == 0, r.output
    iid = re.search(r"已登记机构 (\d+)", r.output).group(1)
    r = run("token", iid)
    assert r.exit_code == 1 and "正常接入" in r.output
    r = run("status", iid, "active", "--reason", "试启用")
    assert r.exit_code == 1 and "安全评估" in r.output
    assert run("assess", iid, "--kind", "security", "--passed", "--note", "通过").exit_code == 0
    assert run("assess", iid, "--kind", "authorization", "--failed").exit_code == 0
    assert run("status", iid, "active").exit_code == 1
    assert run("assess", iid, "--kind", "authorization", "--passed").exit_code == 0
    assert run("status", iid, "active", "--reason", "评估通过").exit_code == 0
    r = run("token", iid)
    assert r.exit_code == 0
    token = r.stdout.strip()
    assert re.fullmatch(r"fci_[A-Za-z0-9_-]+", token)
    assert client.get(f"/api/v1/institutions/{iid}", headers=auth(token)).status_code == 200
    listing = run("list", "--status", "active")
    assert "南通农村商业银行" in listing.output and "正常接入" in listing.output

    assert run("status", iid, "suspended").exit_code == 1  # reason required
    assert run("status", iid, "suspended", "--reason", "检查").exit_code == 0
    r = client.get(f"/api/v1/institutions/{iid}", headers=auth(token))
    assert r.status_code == 403 and error_code(r) == "institution_not_active"


def test_unknown_kind_is_refused(db):
    r = run("add", "某保险公司", "--kind", "insurer")
    assert r.exit_code == 1 and "未知的机构类型" in r.output
