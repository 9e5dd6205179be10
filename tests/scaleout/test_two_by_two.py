"""Two real API processes and two real workers on one PostgreSQL database, driven concurrently:
institution profile queries, evaluations and verifications (disclosures), enterprise self-queries,
provider batches uploaded to both APIs at once (exactly-once ingestion), the monitoring jobs those
batches cause and the webhook deliveries they push to a local receiver. Afterwards: every disclosure
that was answered is recorded exactly once, no job ran twice, every alert reached the bank exactly
once, and the ledger verifies with one entry per recorded event."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fincredit.authorization.models import Authorization
from fincredit.cli import app
from fincredit.collection.models import Batch
from fincredit.collection.provider_service import issue_provider_token
from fincredit.collection.service import LEDGER_KIND as BATCH_KIND
from fincredit.db import session_scope
from fincredit.disclosure.models import Disclosure
from fincredit.ledger.models import LedgerEntry, LedgerHead
from fincredit.monitoring.models import Alert, WebhookDelivery
from fincredit.worker.models import JobRecord, OutboxMessage, WorkerProcess
from tests.helpers import auth
from tests.monitoring.receiver import Receiver
from tests.monitoring.world import PROVIDER, csv_bytes, grant_post_loan, make_world, tax_arrears_row
from tests.trust import factories as f
from tests.worker.support import FINCREDIT, Worker, wait_until

pytestmark = pytest.mark.postgres

ENTERPRISES = 8
QUERY_CATEGORIES = ["1", "10", "27"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """A real ``fincredit serve`` process (uvicorn) on its own port."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        self.log_path = log_path
        self.proc = subprocess.Popen([str(FINCREDIT), "serve", "--port", str(self.port)], env=os.environ.copy(),
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the API process exited\n{self.log_path.read_text(errors='replace')[-4000:]}")
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def processes(fast_settings: None, tmp_path: Path) -> Iterator[tuple[list[Api], list[Worker]]]:
    apis = [Api(tmp_path / f"api-{i}.log") for i in range(2)]
    workers = [Worker(tmp_path / f"worker-{i}.log", threads=3) for i in range(2)]
    try:
        for api in apis:
            wait_until(api.ready, timeout=90, interval=0.2, message="the API process to answer /healthz")
        wait_until(_live_workers, timeout=90, interval=0.2, message="both workers to register")
        yield apis, workers
    finally:
        for api in apis:
            api.stop()
        for worker in workers:
            worker.stop()


def test_two_apis_and_two_workers_on_one_database(processes, tmp_path: Path) -> None:
    apis, workers = processes
    receiver = Receiver().start()
    try:
        _scenario(apis, workers, receiver)
    finally:
        receiver.stop()


def _scenario(apis: list[Api], workers: list[Worker], receiver: Receiver) -> None:
    # --- the world: enterprises authorized to a bank (pre-loan queries, post-loan watching) ----------
    world = make_world()
    with session_scope() as s:
        extra = [f.make_enterprise(s) for _ in range(ENTERPRISES - 1)]
        provider_token = issue_provider_token(s, PROVIDER)
        ent_tokens = {e.uscc: f.token_for(s, "enterprise", e.uscc) for e in [world.ent, *extra]}
    enterprises = [world.ent, *extra]
    for ent in enterprises:
        grant_post_loan(world, QUERY_CATEGORIES, ent=ent, purpose="pre_loan", days=20)
    with session_scope() as s:
        from fincredit.evaluation import service as evaluation

        evaluation.evaluate_all(s, triggered_by="scale-out test")

    first, second = (httpx.Client(base_url=api.url, timeout=60) for api in apis)
    clients = itertools.cycle([first, second])
    r = first.post("/api/v1/webhooks", json={"url": receiver.url}, headers=auth(world.bank_token))
    assert r.status_code == 201, r.text
    for ent in enterprises:
        basis = grant_post_loan(world, ["2"], ent=ent)
        r = second.post("/api/v1/watchlist", json={"uscc": ent.uscc, "authorization_id": basis},
                        headers=auth(world.bank_token))
        assert r.status_code in (200, 201), r.text

    # --- the mix, concurrently against both APIs -------------------------------------------------------
    bank = auth(world.bank_token)
    calls: list[tuple[str, httpx.Client, str, str, dict]] = []
    for i, ent in zip(range(60), itertools.cycle(enterprises), strict=False):
        client = next(clients)
        calls.append(("profile", client, "GET", f"/api/v1/enterprises/{ent.uscc}", {"headers": bank}))
        if i % 3 == 0:
            calls.append(("evaluation", client, "GET", f"/api/v1/enterprises/{ent.uscc}/evaluation",
                          {"headers": bank}))
        if i % 4 == 0:
            calls.append(("verification", client, "POST", "/api/v1/verifications", {"headers": bank, "json": {
                "uscc": ent.uscc, "category": "27", "claims": {"不动产单元号": "320102001001GB00001F00010001"}}}))
        if i % 5 == 0:
            calls.append(("self", client, "GET", "/api/v1/me/credit", {"headers": auth(ent_tokens[ent.uscc])}))
    # One arrears batch per enterprise, the same file sent to both APIs at the same time.
    for n, ent in enumerate(enterprises):
        content = csv_bytes([tax_arrears_row(ent, amount=f"{1000 + n}.50")])
        for client in (first, second):
            calls.append(("batch", client, "POST", "/api/v1/batches", {
                "headers": auth(provider_token), "data": {"category": "2"},
                "files": {"file": (f"arrears-{n}.csv", content, "text/csv")}}))

    def call(item: tuple[str, httpx.Client, str, str, dict]) -> tuple[str, httpx.Response]:
        kind, client, method, path, kwargs = item
        return kind, client.request(method, path, **kwargs)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(call, calls))
    for client in (first, second):
        client.close()

    by_kind: Counter[tuple[str, int]] = Counter((kind, r.status_code) for kind, r in results)
    unexpected = [(kind, r.status_code, r.text[:300]) for kind, r in results if r.status_code not in (200, 201)]
    assert not unexpected, unexpected
    disclosed = [r.json()["disclosure"]["id"] for kind, r in results
                 if kind in ("profile", "evaluation", "verification")]
    assert len(disclosed) == sum(n for (kind, _), n in by_kind.items()
                                 if kind in ("profile", "evaluation", "verification"))

    # Each batch file was stored once: one 201 and one 200 answering with the same batch id.
    batches: dict[str, set[int]] = {}
    statuses: Counter[int] = Counter()
    for kind, r in results:
        if kind == "batch":
            statuses[r.status_code] += 1
            batches.setdefault(r.json()["id"], set()).add(r.status_code)
    assert len(batches) == ENTERPRISES and statuses == {201: ENTERPRISES, 200: ENTERPRISES}

    # --- the workers: one alert per enterprise, each pushed exactly once ----------------------------
    wait_until(lambda: len(set(receiver.ids())) >= ENTERPRISES, timeout=45,
               message=f"{ENTERPRISES} webhooks\n{workers[0].log()}\n{workers[1].log()}")
    wait_until(_jobs_settled, timeout=30, message="every job to finish")

    with session_scope() as s:
        # every answered disclosure is recorded exactly once, and nothing else was recorded
        rows = list(s.scalars(select(Disclosure.id)))
        assert sorted(rows) == sorted(disclosed) and len(set(disclosed)) == len(disclosed)
        assert s.scalar(select(func.count()).select_from(Batch)) == ENTERPRISES

        # no job ran twice, and both workers took part
        jobs = list(s.scalars(select(JobRecord)))
        assert jobs and {j.status for j in jobs} == {"succeeded"}
        assert {j.attempts for j in jobs} == {1}
        assert len({j.message_id for j in jobs}) == len(jobs)
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.status != "done")) == 0
        assert len({j.worker_id for j in jobs}) == 2, "both workers should have run jobs"

        alerts = s.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "risk"))
        deliveries = list(s.scalars(select(WebhookDelivery)))
        assert alerts == ENTERPRISES
        assert len(deliveries) == alerts and {d.status for d in deliveries} == {"delivered"}
        assert sorted(receiver.ids()) == sorted(d.message_id for d in deliveries)  # none twice, none lost

        # the ledger: one entry per event, in one consistent append order
        kinds = dict(s.execute(select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)).all())
        uses = sum(len(ids) for ids in s.scalars(select(Disclosure.authorization_ids)))
        granted = s.scalar(select(func.count()).select_from(Authorization))
        assert kinds.get("disclosure") == len(disclosed)
        assert kinds.get("authorization.used") == uses
        assert kinds.get("authorization.granted") == granted
        assert kinds.get(BATCH_KIND) == ENTERPRISES
        size = s.scalar(select(LedgerHead.size))
        assert size == sum(kinds.values()) == s.scalar(select(func.max(LedgerEntry.index))) + 1, kinds
    out = CliRunner().invoke(app, ["ledger", "verify"])
    assert out.exit_code == 0, out.output


def _live_workers() -> bool:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(WorkerProcess)
                        .where(WorkerProcess.stopped_at.is_(None))) >= 2


def _jobs_settled() -> bool:
    with session_scope() as s:
        open_jobs = s.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status != "done"))
        running = s.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.status != "succeeded"))
    time.sleep(0.2)
    return open_jobs == 0 and running == 0
