"""管理端 · 信用评价: the operator starts a full evaluation run, follows it from queued to running
(with a progress estimate) to finished, and cannot start a second one meanwhile."""

from __future__ import annotations

from sqlalchemy import select

from fincredit.db import session_scope
from fincredit.evaluation.tasks import RUN_ALL_KIND
from fincredit.worker import jobs, outbox
from fincredit.worker.models import OutboxMessage
from tests.web.clients import form_token, login_operator
from tests.web.world import World

REFRESH = '<meta http-equiv="refresh"'


def _message_id() -> str:
    with session_scope() as s:
        return s.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == RUN_ALL_KIND)).one()


def test_operator_runs_an_evaluation_and_follows_its_progress(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    page = client.get("/operator/evaluation").text
    assert "开始全量评价" in page and "评价记录" in page and "测试" in page and REFRESH not in page
    runs_before = page.count("<td>全量</td>")

    page = client.post("/operator/evaluation/run", data={"csrf_token": form_token(client, "/operator/evaluation")}).text
    assert "已提交全量信用评价" in page and "排队等待后台任务进程" in page and REFRESH in page
    assert "当前没有运行中的后台任务进程" in page and "开始全量评价" not in page

    again = client.post("/operator/evaluation/run", data={"csrf_token": form_token(client, "/operator/evaluation")})
    assert "已有一次信用评价在排队或运行中" in again.text
    message_id = _message_id()  # exactly one job was asked for

    outbox.dispatch()
    jobs.record_started(message_id, "test-task")
    page = client.get("/operator/evaluation").text
    assert "评价运行中" in page and '<progress max="100"' in page and "按上次全量评价用时估算" in page

    jobs.execute_message(message_id)
    jobs.record_succeeded(message_id)
    page = client.get("/operator/evaluation").text
    assert REFRESH not in page and "开始全量评价" in page
    assert page.count("<td>全量</td>") == runs_before + 1


def test_stale_form_starts_nothing(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    page = client.post("/operator/evaluation/run", data={"csrf_token": "forged"}).text
    assert "页面已过期" in page
    with session_scope() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.kind == RUN_ALL_KIND)).first() is None
