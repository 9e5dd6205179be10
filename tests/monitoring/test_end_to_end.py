"""End to end with a real worker process and a real HTTP receiver on 127.0.0.1: a committed batch puts
a watched enterprise into arrears → a signed Standard Webhooks message arrives, at least once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from fincredit.db import session_scope
from fincredit.monitoring.models import Alert, WebhookDelivery
from tests.helpers import auth
from tests.monitoring.receiver import Receiver
from tests.monitoring.world import World, grant_post_loan, ingest_rows, make_world, tax_arrears_row
from tests.worker.support import FAST_ENV, Worker, use_env, wait_until


@pytest.fixture(scope="module")
def worker(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One real worker for the module (starting a process is the slow part)."""
    from fincredit.worker.huey_app import get_huey

    undo = use_env(FAST_ENV)
    get_huey().storage.flush_all()
    process = Worker(tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    process.stop()
    undo()


@pytest.fixture
def world(worker: Worker, fast_settings: None) -> World:
    return make_world()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def subscribe(client, world: World, url: str, categories: list[str], ent=None) -> str:
    ent = ent or world.ent
    authorization = grant_post_loan(world, categories, ent=ent)
    r = client.post("/api/v1/watchlist", json={"uscc": ent.uscc, "authorization_id": authorization},
                    headers=auth(world.bank_token))
    assert r.status_code in (200, 201), r.text
    return authorization


def register(client, world: World, url: str) -> dict:
    r = client.post("/api/v1/webhooks", json={"url": url}, headers=auth(world.bank_token))
    assert r.status_code == 201, r.text
    return r.json()


def deliveries() -> list[WebhookDelivery]:
    with session_scope() as s:
        rows = list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        s.expunge_all()
        return rows


def test_an_arrears_batch_reaches_the_bank_signed_and_without_raw_values(client, world, worker, receiver):
    hook = register(client, world, receiver.url)
    authorization = subscribe(client, world, receiver.url, ["2"])
    ingest_rows("2", [tax_arrears_row(world.ent, amount="765432.10", kind="房产税")])

    wait_until(lambda: receiver.received, timeout=90, message=f"the webhook\n{worker.log()}")
    message = receiver.received[0]
    payload = Webhook(hook["secret"]).verify(message.body, message.headers)  # raises unless signed correctly
    assert payload["type"] == "alert.created"
    data = payload["data"]
    assert data["evidence"] == "新增欠税记录" and data["rule"] == {"id": "tax_arrears", "version": 1}
    assert data["basis"]["authorization_id"] == authorization and data["uscc"] == world.ent.uscc
    assert message.headers["webhook-id"] == f"msg_{data['id']}"
    assert message.headers["webhook-signature"].startswith("v1,")
    text = message.body.decode()
    assert "765432" not in text and "房产税" not in text

    [delivery] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth(world.bank_token)).json()["items"]
    assert delivery["status"] == "delivered" or wait_until(
        lambda: deliveries()[0].status == "delivered", message="the delivery to be recorded")


def test_a_receiver_down_for_a_while_loses_nothing_and_duplicates_keep_their_id(client, world, worker):
    down = Receiver().start()
    port = down.port
    down.stop()  # nobody listens on this port for now
    hook = register(client, world, f"http://127.0.0.1:{port}/hooks/fincredit")
    subscribe(client, world, "", ["2", "11"])
    subscribe(client, world, "", ["2"], ent=world.other)
    ingest_rows("2", [tax_arrears_row(world.ent), tax_arrears_row(world.other)])
    ingest_rows("11", [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "当前是否欠费": True}])

    wait_until(lambda: len(deliveries()) == 3 and all(d.attempts >= 2 for d in deliveries()), timeout=90,
               message=f"three failing deliveries\n{worker.log()}")

    seen: set[str] = set()

    def flaky(_n: int, headers: dict[str, str], _body: bytes) -> tuple[int, dict[str, str]]:
        """The first copy of each message is received but answered 500, so it comes again."""
        first = headers["webhook-id"] not in seen
        seen.add(headers["webhook-id"])
        return (500, {}) if first else (204, {})

    back = Receiver(port=port, respond=flaky).start()
    try:
        wait_until(lambda: len(set(back.ids(204))) == 3, timeout=90, message=f"every alert\n{worker.log()}")
    finally:
        back.stop()
    with session_scope() as s:
        alert_ids = {f"msg_{a}" for a in s.scalars(select(Alert.id))}
    assert set(back.ids()) == set(back.ids(204)) == alert_ids
    for message_id in alert_ids:
        copies = [r for r in back.received if r.headers["webhook-id"] == message_id]
        assert len(copies) >= 2 and len({c.body for c in copies}) == 1
        for copy in copies:
            Webhook(hook["secret"]).verify(copy.body, copy.headers)
    wait_until(lambda: {d.status for d in deliveries()} == {"delivered"}, message="deliveries recorded")


def test_429_waits_for_retry_after_and_410_disables_the_endpoint(client, world, worker):
    answers = [(429, {"Retry-After": "2"}), (410, {})]
    receiver = Receiver(respond=lambda n, _h, _b: answers[min(n, 1)]).start()
    try:
        hook = register(client, world, receiver.url)
        subscribe(client, world, receiver.url, ["2"])
        ingest_rows("2", [tax_arrears_row(world.ent)])
        wait_until(lambda: len(receiver.received) >= 2, timeout=90, message=f"two attempts\n{worker.log()}")
        assert receiver.received[1].at - receiver.received[0].at >= 1.8  # not the 0.3 s of the schedule

        def endpoint() -> dict:
            [listed] = client.get("/api/v1/webhooks", headers=auth(world.bank_token)).json()["items"]
            return listed

        listed = wait_until(lambda: endpoint()["status"] == "disabled" and endpoint(), message="the endpoint disabled")
        assert listed["id"] == hook["id"] and "410" in listed["status_reason"]
        assert deliveries()[0].status == "failed"
    finally:
        receiver.stop()


def test_after_a_secret_rotation_both_secrets_verify(client, world, worker, receiver):
    old = register(client, world, receiver.url)
    r = client.post(f"/api/v1/webhooks/{old['id']}/rotate-secret", headers=auth(world.bank_token))
    new_secret = r.json()["secret"]
    subscribe(client, world, receiver.url, ["2"])
    ingest_rows("2", [tax_arrears_row(world.ent)])
    wait_until(lambda: receiver.received, timeout=90, message=f"the webhook\n{worker.log()}")
    message = receiver.received[0]
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    for secret in (old["secret"], new_secret):
        assert json.loads(message.body)["type"] == Webhook(secret).verify(message.body, message.headers)["type"]
