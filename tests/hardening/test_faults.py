"""Faults on both databases: the upload spool full or over quota, spool files left by a crash,
and a worker killed mid-job. (Connections killed mid-request and mid-batch: test_faults_postgres.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from fincredit.collection.models import Batch, Record
from fincredit.collection.uploads import SPOOL_PREFIX, SPOOL_SUFFIX, _host_tag
from fincredit.db import session_scope
from fincredit.monitoring.models import Alert
from fincredit.worker import outbox
from fincredit.worker.builtin import PROBE_KIND
from fincredit.worker.models import JobRecord, OutboxMessage
from tests.collection import factories
from tests.hardening.hostile import chinese
from tests.helpers import auth, error_code
from tests.monitoring.receiver import Receiver
from tests.monitoring.world import grant_post_loan, ingest_rows, make_world, tax_arrears_row
from tests.worker.support import use_env, wait_until


def _stored() -> tuple[int, int, list[tuple]]:
    with session_scope() as s:
        records = [(r.id, r.content_hash, r.is_current) for r in s.scalars(select(Record).order_by(Record.id))]
        return (s.scalar(select(func.count()).select_from(Batch)), len(records), records)


def _spool(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "uploads").glob("*"))


def test_an_upload_over_the_spool_quota_is_refused_and_leaves_nothing(tmp_path, data_dir, provider, upload):
    token = provider()
    assert upload(token, "1", factories.to_csv(factories.rows("1", 5), tmp_path / "a.csv")).status_code == 201
    before = _stored()
    big = factories.to_csv(factories.rows("1", 400, start=100), tmp_path / "big.csv")
    undo = use_env({"FINCREDIT_UPLOAD_QUOTA_BYTES": str(big.stat().st_size // 2)})
    try:
        r = upload(token, "1", big)
        assert r.status_code == 507, r.text
        assert error_code(r) == "upload_quota_exceeded" and chinese(r.json()["error"]["message"])
        assert _stored() == before and _spool(data_dir) == []

        # The quota counts what the spool already holds (another upload in flight).
        small = factories.to_csv(factories.rows("1", 3, start=900), tmp_path / "small.csv")
        other = data_dir / "uploads" / f"{SPOOL_PREFIX}{_host_tag()}-{os.getpid()}-inflight{SPOOL_SUFFIX}"
        other.write_bytes(b"x" * (big.stat().st_size // 2 - small.stat().st_size // 2))
        r = upload(token, "1", small)
        assert r.status_code == 507 and error_code(r) == "upload_quota_exceeded"
        other.unlink()
        assert upload(token, "1", small).status_code == 201  # room again
    finally:
        undo()
    r = upload(token, "1", big)  # no quota: stored once, in full
    assert r.status_code == 201 and r.json()["accepted"] == 400
    assert _stored()[0] == before[0] + 2 and _spool(data_dir) == []


RECEIVE_WITH_A_FULL_DISK = r"""
import asyncio, json, resource, signal, sys
from pathlib import Path
from fincredit.collection.uploads import receive_form
from fincredit.errors import DomainError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.RLIM_INFINITY))
dest = Path(sys.argv[1])
boundary = "b0undary"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\n1\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n").encode()
body += b"x" * 1_000_000 + f"\r\n--{boundary}--\r\n".encode()

async def stream():
    for i in range(0, len(body), 8192):
        yield body[i:i + 8192]

async def main():
    try:
        await receive_form(f"multipart/form-data; boundary={boundary}", stream(), dest_dir=dest, limit=10**8,
                           quota=None)
        print(json.dumps({"stored": True}))
    except DomainError as exc:
        print(json.dumps({"status": exc.status_code, "code": exc.code, "message": exc.message,
                          "left": [p.name for p in dest.iterdir()]}, ensure_ascii=False))

asyncio.run(main())
"""


def test_a_file_system_refusing_bytes_is_the_same_clear_error(tmp_path):
    """A real OS refusal (RLIMIT_FSIZE → EFBIG, like ENOSPC on a full disk) while the file streams in."""
    import json

    spool = tmp_path / "uploads"
    spool.mkdir()
    out = subprocess.run([sys.executable, "-c", RECEIVE_WITH_A_FULL_DISK, str(spool)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 507 and result["code"] == "upload_quota_exceeded", result
    assert chinese(result["message"]) and result["left"] == []


def test_spool_files_left_by_a_crash_are_removed_when_the_api_starts(data_dir):
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app

    crashed = subprocess.Popen([sys.executable, "-c", "pass"])
    crashed.wait()
    spool = data_dir / "uploads"
    spool.mkdir(exist_ok=True)
    names = {
        "dead": f"{SPOOL_PREFIX}{_host_tag()}-{crashed.pid}-abc{SPOOL_SUFFIX}",  # this host, process gone
        "alive": f"{SPOOL_PREFIX}{_host_tag()}-{os.getpid()}-def{SPOOL_SUFFIX}",  # an upload in flight here
        "peer": f"{SPOOL_PREFIX}otherhost-4242-ghi{SPOOL_SUFFIX}",  # another API machine, recent
        "old": f"{SPOOL_PREFIX}otherhost-4243-jkl{SPOOL_SUFFIX}",  # another machine, untouched for 2 days
        "legacy": f"{SPOOL_PREFIX}k2j3h4{SPOOL_SUFFIX}",  # an older name, old
    }
    for name in names.values():
        (spool / name).write_bytes(b"partial")
    for key in ("old", "legacy"):
        past = time.time() - 2 * 24 * 3600
        os.utime(spool / names[key], (past, past))
    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
    left = set(_spool(data_dir))
    assert left == {names["alive"], names["peer"]}
    for name in left:
        (spool / name).unlink()


def test_a_worker_killed_mid_job_is_replaced_and_every_job_takes_effect_once(client, workers):
    """SIGKILL the only worker while it runs a job, with a monitoring job queued behind it; a new
    worker finishes both: one alert, delivered to the bank's webhook under one message id."""
    receiver = Receiver().start()
    try:
        world = make_world()
        r = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=auth(world.bank_token))
        assert r.status_code == 201, r.text
        authorization = grant_post_loan(world, ["2"])
        r = client.post("/api/v1/watchlist", json={"uscc": world.ent.uscc, "authorization_id": authorization},
                        headers=auth(world.bank_token))
        assert r.status_code in (200, 201), r.text

        first = workers(threads=1)
        with session_scope() as s:
            slow = outbox.enqueue(s, PROBE_KIND, {"seconds": 8}).id

        def status(message_id: str) -> str | None:
            with session_scope() as s:
                row = s.scalar(select(JobRecord).where(JobRecord.message_id == message_id))
                return row.status if row is not None else None

        wait_until(lambda: status(slow) == "running", timeout=90, message=f"the slow job to start\n{first.log()}")
        ingest_rows("2", [tax_arrears_row(world.ent)])  # its monitoring job waits behind the slow one
        assert status(slow) == "running"
        first.kill()

        second = workers()
        wait_until(lambda: receiver.received, timeout=90, message=f"the alert's webhook\n{second.log()}")
        wait_until(lambda: status(slow) == "succeeded", timeout=90, message="the killed job to finish")
        with session_scope() as s:
            wait_until(lambda: s.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.status != "done")) == 0, timeout=60,
                       message="every outbox message done")
            assert s.scalar(select(func.count()).select_from(Alert)) == 1
            runs = list(s.scalars(select(JobRecord)))
            assert all(j.status == "succeeded" for j in runs), [(j.kind, j.status) for j in runs]
            assert s.scalar(select(JobRecord.attempts).where(JobRecord.message_id == slow)) == 2
        assert len({m.headers["webhook-id"] for m in receiver.received}) == 1
    finally:
        receiver.stop()
