"""Webhook registration: SSRF-safe URLs only, secrets shown once, rotation, deletion."""

from __future__ import annotations

import ipaddress

import pytest

from fincredit.monitoring.webhook_transport import classify
from tests.helpers import auth, error_code
from tests.monitoring.world import World, make_world
from tests.worker.support import use_env


@pytest.fixture
def world(fast_settings) -> World:
    return make_world()


@pytest.fixture
def private_off(fast_settings):
    undo = use_env({"FINCREDIT_ALLOW_PRIVATE_WEBHOOKS": "false"})
    yield
    undo()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data", "https://10.1.2.3/hook", "https://192.168.1.10/hook",
    "https://172.16.0.5/hook", "https://100.64.0.1/hook", "https://0.0.0.0/hook", "https://224.0.0.1/hook",
    "https://[fe80::1]/hook", "https://[fd00::1]/hook", "https://[::ffff:169.254.169.254]/hook",
    "https://[::ffff:10.0.0.1]/hook", "http://8.8.8.8/hook", "ftp://8.8.8.8/hook", "https://user:pw@8.8.8.8/hook",
    "https://no-such-host.invalid/hook", "https:///hook",
])
def test_unsafe_urls_are_refused(client, world, private_off, url):
    r = client.post("/api/v1/webhooks", json={"url": url}, headers=auth(world.bank_token))
    assert r.status_code == 422, r.text
    assert error_code(r) == "unsafe_webhook_url"
    assert client.get("/api/v1/webhooks", headers=auth(world.bank_token)).json()["items"] == []


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://0.0.0.0/", "http://10.0.0.1/hook",
                                 "https://[ff02::1]/"])
def test_a_test_deployment_may_use_loopback_but_never_metadata_or_multicast(client, world, url):
    r = client.post("/api/v1/webhooks", json={"url": url}, headers=auth(world.bank_token))
    assert r.status_code == 422 and error_code(r) == "unsafe_webhook_url", r.text


def test_register_rotate_and_delete(client, world):
    r = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth(world.bank_token))
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
    listed = client.get("/api/v1/webhooks", headers=auth(world.bank_token)).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    assert client.get("/api/v1/webhooks", headers=auth(world.other_bank_token)).json()["items"] == []

    r = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=auth(world.bank_token))
    assert r.status_code == 200 and r.json()["secret"] != hook["secret"]
    assert r.json()["previous_secret_valid_until"]
    r = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=auth(world.other_bank_token))
    assert r.status_code == 404 and error_code(r) == "webhook_not_found"

    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth(world.bank_token)).status_code == 204
    assert client.get("/api/v1/webhooks", headers=auth(world.bank_token)).json()["items"] == []


def test_public_addresses_are_public():
    assert classify(ipaddress.ip_address("8.8.8.8")) == "public"
    assert classify(ipaddress.ip_address("2001:4860:4860::8888")) == "public"
    assert classify(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback"
    assert classify(ipaddress.ip_address("2002:a9fe:a9fe::1")) == "forbidden"  # 6to4 of 169.254.169.254
