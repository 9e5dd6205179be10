"""The providers' portal: log in with the node-issued token, upload a batch, see only one's own batches."""

from __future__ import annotations

from fincredit.collection import provider_service
from fincredit.db import session_scope
from tests.web.clients import form_token
from tests.web.pages import field_error
from tests.web.world import World


def test_provider_uploads_a_batch_and_sees_only_its_own(client, world: World) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        token = provider_service.issue_provider_token(s, "sci")
    r = client.post("/login/provider", data={"csrf_token": form_token(client, "/login/provider"), "token": token},
                    follow_redirects=False)
    assert r.headers["location"] == "/provider"
    page = client.get("/provider").text
    assert "18. 高新技术企业认定信息" in page and "1. 纳税信息" not in page  # only its own categories
    csrf = form_token(client, "/provider")
    r = client.post("/provider/upload", data={"csrf_token": csrf, "category": ""},
                    files={"file": ("a.csv", b"x", "text/csv")})
    assert r.status_code == 422 and field_error(r.text, "category") == "请选择信息类"
    rows = ("企业名称,统一社会信用代码,认定证书编号,发证日期,有效期,认定机关\n"
            f"{world.others[0].name},{world.others[0].uscc},GR202332009999,2024-12-01,2027-11-30,江苏省科学技术厅\n")
    r = client.post("/provider/upload", data={"csrf_token": csrf, "category": "18"},
                    files={"file": ("高新技术企业.csv", rows.encode(), "text/csv")},
                    headers={"X-Requested-With": "XMLHttpRequest"})
    assert r.status_code == 200
    result = client.get(r.json()["redirect"]).text
    assert "已入库" in result and "没有退回的行" in result
    r = client.post("/provider/upload", data={"csrf_token": csrf, "category": "18"},
                    files={"file": ("again.csv", rows.encode(), "text/csv")}, follow_redirects=True)
    assert "相同内容此前已报送，未重复入库" in r.text
    assert client.get("/provider/batches/1").status_code == 404  # the registration base batch is amr's
    assert "批次不存在" in client.get("/provider/batches/1").text
