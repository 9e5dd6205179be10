"""The outbox and real workers: jobs only after commit, retries, dead jobs, SIGKILL, several workers."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from fincredit.cli import app
from fincredit.db import session_scope
from fincredit.worker import outbox
from fincredit.worker.builtin import PROBE_KIND
from fincredit.worker.models import JobRecord, OutboxMessage, PeriodicJob
from tests.helpers import auth, error_code
from tests.worker.support import wait_until


def enqueue(*payloads: dict) -> list[str]:
    with session_scope() as session:
        ids = [outbox.enqueue(session, PROBE_KIND, p).id for p in payloads]
    return ids


def job(message_id: str) -> JobRecord | None:
    with session_scope() as session:
        row = session.scalar(select(JobRecord).where(JobRecord.message_id == message_id))
        if row is not None:
            session.expunge(row)
        return row


def finished(message_id: str, status: str = "succeeded") -> JobRecord | None:
    row = job(message_id)
    return row if row is not None and row.status == status else None


def test_nothing_is_enqueued_when_the_transaction_rolls_back(fast_settings):
    from fincredit.db import get_sessionmaker
    from fincredit.worker.huey_app import get_huey

    session = get_sessionmaker()()
    outbox.enqueue(session, PROBE_KIND, {"seconds": 0})
    session.flush()
    session.rollback()
    session.close()
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert get_huey().pending_count() == 0


def test_a_committed_job_runs_and_the_operator_sees_it(workers, client, admin_token):
    worker = workers()
    [ok] = enqueue({"seconds": 0})
    row = wait_until(lambda: finished(ok), message=f"the probe job\n{worker.log()}")
    assert row.attempts == 1 and row.worker_id is not None

    r = client.get("/api/v1/jobs", params={"status": "succeeded"}, headers=auth(admin_token))
    assert r.status_code == 200, r.text
    assert [j["id"] for j in r.json()["items"]] == [ok]
    assert r.json()["items"][0]["kind"] == PROBE_KIND

    out = CliRunner().invoke(app, ["jobs", "--status", "succeeded"])
    assert out.exit_code == 0, out.output
    assert ok[:8] in out.output and "在线工作进程：1" in out.output

    # The periodic jobs ran too: the dispatcher's reaper and the ledger checkpoint.
    with session_scope() as session:
        names = set(session.scalars(select(PeriodicJob.name)))
    assert {"worker.reap", "ledger.checkpoint"} <= names


def test_jobs_endpoint_is_for_the_operator_only(client, make_token, admin_token):
    institution = make_token("institution", "1")
    assert client.get("/api/v1/jobs", headers=auth(institution)).status_code in (401, 403)
    r = client.get("/api/v1/jobs", params={"status": "exploded"}, headers=auth(admin_token))
    assert r.status_code == 422 and error_code(r) == "validation_failed"


def test_failures_are_retried_with_backoff_until_success_or_death(workers):
    workers()
    flaky, hopeless = enqueue({"seconds": 0, "fail_attempts": 2}, {"seconds": 0, "fail_attempts": 99})
    row = wait_until(lambda: finished(flaky), message="the flaky job to succeed")
    assert row.attempts == 3
    assert "deliberate failure" in (row.last_error or "")

    dead = wait_until(lambda: finished(hopeless, "dead"), message="the hopeless job to die")
    assert dead.attempts == 5  # the probe's max_attempts
    with session_scope() as session:
        assert session.get(OutboxMessage, hopeless).status == "dead"
        started = [j.started_at for j in session.scalars(select(JobRecord))]
    assert all(started)


def test_killing_a_worker_mid_job_loses_no_job(workers):
    first = workers()
    [slow] = enqueue({"seconds": 4})
    wait_until(lambda: finished(slow, "running"), message=f"the slow job to start\n{first.log()}")
    first.kill()  # SIGKILL while the job runs: huey had already taken it off its queue

    second = workers()
    row = wait_until(lambda: finished(slow), timeout=90, message=f"the job to run again\n{second.log()}")
    assert row.attempts == 2
    with session_scope() as session:
        assert session.get(OutboxMessage, slow).status == "done"


def test_several_workers_share_the_queue_and_run_each_job_once(workers):
    workers(threads=3)
    workers(threads=3)
    ids = enqueue(*[{"seconds": 0.05} for _ in range(40)])
    wait_until(lambda: all(finished(i) for i in ids), timeout=90, message="all 40 jobs")
    with session_scope() as session:
        rows = list(session.scalars(select(JobRecord).where(JobRecord.message_id.in_(ids))))
        assert {r.attempts for r in rows} == {1}
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "done")) == 40


def test_postgres_storage_dequeues_with_skip_locked(fast_settings):
    from fincredit.settings import get_settings
    from fincredit.worker.huey_app import check_storage_is_safe, get_huey

    huey = get_huey()
    check_storage_is_safe(huey)
    if not get_settings().is_sqlite:
        assert huey.storage.for_update == "FOR UPDATE SKIP LOCKED"
        sql, _ = huey.storage.tasks(huey.storage.Task.id).limit(1).for_update(huey.storage.for_update).sql()
        assert "FOR UPDATE SKIP LOCKED" in sql and '"huey"."task"' in sql


def test_the_worker_refuses_to_start_with_a_malformed_rules_file(fast_settings, tmp_path):
    from fincredit.monitoring.evaluate import _rules_at
    from tests.worker.support import use_env

    bad = tmp_path / "rules.yaml"
    bad.write_text("ruleset: 坏规则\nversion: 1\nrules:\n  - {id: x1, version: 1, type: record, category: '2', "
                   "severity: high, title: t, evidence: e, conditions: [{field: 欠税金额, op: is_true}]}\n",
                   encoding="utf-8")
    undo = use_env({"FINCREDIT_MONITORING_RULES_FILE": str(bad)})
    try:
        out = CliRunner().invoke(app, ["worker"])
    finally:
        undo()
        _rules_at.cache_clear()
    assert out.exit_code == 2
    assert "第 1 条规则（x1）" in out.output and "欠税金额" in out.output
