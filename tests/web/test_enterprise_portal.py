"""The enterprise portal: own credit with trends, the evaluation and its reasons, who looked (with a
receipt that verifies offline), and the 苏信码."""

from __future__ import annotations

import datetime as dt
import re

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import service as authorizations
from fincredit.db import session_scope, utcnow
from fincredit.ledger.verifier import verify_document
from tests.web.clients import form_token, login_institution, registered_and_logged_in
from tests.web.world import World


def test_own_credit_evaluation_and_who_looked(client, world: World) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app

    registered_and_logged_in(client, world)
    credit = client.get("/enterprise/credit").text
    assert "社保参保人数（按缴费年月）" in credit and "近一年实际缴税额" in credit
    assert "420000" in credit and "360000" in credit  # raw, current and history, free of charge
    assert "历史" in credit and "GR202332001234" in credit
    evaluation = client.get("/enterprise/evaluation").text
    assert "主要理由" in evaluation and "扣分" in evaluation and "各维度得分率" in evaluation
    with TestClient(create_app()) as bank:
        login_institution(bank, world.bank_token)
        bank.post("/institution/lookup", data={"csrf_token": form_token(bank, "/institution/lookup"),
                                               "uscc": world.main.uscc})
    looked = client.get("/enterprise/disclosures").text
    assert world.bank_name in looked and "无需授权（公开信息）" in looked
    index = re.search(r"/enterprise/receipts/(\d+)", looked).group(1)
    receipt = client.get(f"/enterprise/receipts/{index}")
    assert receipt.headers["content-disposition"].startswith("attachment")
    assert verify_document(receipt.json()).ok
    assert client.get("/enterprise/receipts/0").status_code == 403  # the base batch is not its entry


def test_sucode_needs_its_authorization(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    page = client.get("/enterprise/sucode").text
    assert "尚未授权苏信码展示" in page and "签署苏信码展示授权" in page
    with session_scope() as s:
        authorizations.grant(s, Principal(role=Role.enterprise, subject=world.main.uscc), authorizations.GrantRequest(
            institution_id=None, purpose="sucode", categories=[], expires_at=utcnow() + dt.timedelta(days=90)))
    page = client.get("/enterprise/sucode").text
    assert 'src="data:image/svg+xml;base64,' in page and "/sucode/" in page and "信用等级" in page
    png = client.get("/enterprise/sucode.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
