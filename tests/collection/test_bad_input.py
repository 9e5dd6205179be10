"""Bad input: each is a clear error with a stable code and a Chinese message; stored data stays as it was."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from fincredit.collection.models import Batch, Record
from fincredit.settings import get_settings
from tests.collection import factories
from tests.helpers import auth, error_code


@pytest.fixture
def seeded(tmp_path, provider, upload, session):
    """A provider for categories 1–3 with one good batch stored; returns (token, snapshot of records)."""
    token = provider()
    assert upload(token, "1", factories.to_csv(factories.rows("1", 5), tmp_path / "good.csv")).status_code == 201

    def snapshot() -> list[tuple]:
        session.expire_all()
        return [(r.id, r.content_hash, r.is_current) for r in session.scalars(select(Record).order_by(Record.id))]

    return token, snapshot


def _chinese(response) -> str:  # type: ignore[no-untyped-def]
    message = response.json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    return message


def _rejected_batch(response, session, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    assert error_code(response) == code
    _chinese(response)
    batch = session.get(Batch, response.json()["error"]["details"]["batch"]["id"])
    assert batch.status == "rejected" and batch.accepted == 0
    assert session.scalars(select(Record).where(Record.batch_id == batch.id)).all() == []


def test_truncated_csv(tmp_path, seeded, upload, session, client):
    token, snapshot = seeded
    before = snapshot()
    text = factories.to_csv(factories.rows("1", 20, start=100), tmp_path / "t.csv").read_bytes().decode()
    cut = text[: text.index("\r\n", len(text) // 2)] + '\r\n"未闭合的引号,'
    r = upload(token, "1", cut.encode())
    _rejected_batch(r, session, "truncated_file")
    errors = client.get(f"/api/v1/batches/{r.json()['error']['details']['batch']['id']}/errors",
                        headers=auth(token)).json()
    assert errors[0]["code"] == "truncated_file" and errors[0]["row"] is None
    assert snapshot() == before


def test_truncated_xlsx(tmp_path, seeded, upload, session):
    token, snapshot = seeded
    before = snapshot()
    data = factories.to_xlsx(factories.rows("1", 20, start=100), tmp_path / "t.xlsx").read_bytes()
    r = upload(token, "1", data[: len(data) // 2], filename="t.xlsx")
    _rejected_batch(r, session, "corrupt_xlsx")
    assert snapshot() == before


def test_binary_garbage(seeded, upload, session):
    token, snapshot = seeded
    before = snapshot()
    r = upload(token, "1", os.urandom(4096) + b"\x00" * 16, filename="garbage.csv")
    assert r.status_code == 422 and error_code(r) in {"binary_file", "bad_encoding"}
    _rejected_batch(r, session, error_code(r))
    assert snapshot() == before


def test_wrong_category_header_lists_what_is_wrong(tmp_path, seeded, upload, session, client):
    token, snapshot = seeded
    before = snapshot()
    r = upload(token, "1", factories.to_csv(factories.rows("2", 3), tmp_path / "arrears.csv"))
    _rejected_batch(r, session, "bad_headers")
    details = r.json()["error"]["details"]
    assert set(details["unknown"]) == {"税种", "欠税金额(元)", "当前是否欠税"}
    errors = client.get(f"/api/v1/batches/{details['batch']['id']}/errors", headers=auth(token)).json()
    assert {(e["field"], e["code"]) for e in errors} >= {("税种", "unknown_column"), ("当前是否欠税", "unknown_column")}
    missing = upload(token, "1", b"\xe4\xbc\x81\xe4\xb8\x9a\xe5\x90\x8d\xe7\xa7\xb0\r\nx\r\n", filename="m.csv")
    assert error_code(missing) == "bad_headers" and "统一社会信用代码" in missing.json()["error"]["details"]["missing"]
    assert snapshot() == before


def test_formula_injection_rejects_the_row(tmp_path, seeded, upload, client):
    token, _ = seeded
    rows = factories.rows("1", 2, start=200)
    rows[1]["企业名称"] = "=cmd|' /C calc'!A0"
    body = upload(token, "1", factories.to_csv(rows, tmp_path / "f.csv")).json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    errors = client.get(f"/api/v1/batches/{body['id']}/errors", headers=auth(token)).json()
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [(3, "企业名称", "formula_injection")]


def test_path_like_file_name_is_refused(tmp_path, seeded, upload, session, data_dir):
    token, snapshot = seeded
    before = snapshot()
    data = factories.to_csv(factories.rows("1", 2, start=300), tmp_path / "p.csv").read_bytes()
    for name in ("../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd"):
        r = upload(token, "1", data, filename=name)
        assert r.status_code == 422 and error_code(r) == "bad_filename", r.text
        _chinese(r)
    assert snapshot() == before
    assert list((data_dir / "uploads").iterdir()) == []
    assert not (data_dir.parent / "passwd").exists()


def test_category_not_assigned_and_unknown_category(tmp_path, seeded, upload, session):
    token, snapshot = seeded
    before = snapshot()
    data = factories.to_csv(factories.rows("5", 2), tmp_path / "c.csv").read_bytes()
    r = upload(token, "5", data)
    assert r.status_code == 403 and error_code(r) == "category_not_assigned"
    _chinese(r)
    r = upload(token, "99", data)
    assert r.status_code == 404 and error_code(r) == "unknown_category"
    r = upload(token, "1", data, mode="everything")
    assert r.status_code == 422 and error_code(r) == "bad_mode"
    assert snapshot() == before


def test_missing_parts(seeded, client):
    token, _ = seeded
    r = client.post("/api/v1/batches", data={"category": "1"}, files={"x": ("a.txt", b"1")}, headers=auth(token))
    assert r.status_code == 422 and error_code(r) in {"bad_upload", "missing_file"}
    r = client.post("/api/v1/batches", files={"file": ("a.csv", b"a,b\n1,2\n")}, headers=auth(token))
    assert r.status_code == 422 and error_code(r) == "missing_category"
    r = client.post("/api/v1/batches", json={"category": "1"}, headers=auth(token))
    assert r.status_code == 422 and error_code(r) == "bad_upload"


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setenv("FINCREDIT_MAX_UPLOAD_BYTES", "2000")
    get_settings.cache_clear()
    yield 2000
    monkeypatch.delenv("FINCREDIT_MAX_UPLOAD_BYTES")
    get_settings.cache_clear()


def test_upload_over_the_limit(tmp_path, seeded, upload, client, small_limit, data_dir):
    token, snapshot = seeded
    before = snapshot()
    data = factories.to_csv(factories.rows("1", 100, start=400), tmp_path / "big.csv").read_bytes()
    assert len(data) > small_limit
    r = upload(token, "1", data)
    assert r.status_code == 413 and error_code(r) == "payload_too_large"
    _chinese(r)

    boundary = "fincreditboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\n1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode()
    sent = []

    def chunked():  # no Content-Length: the server must count while streaming
        yield head
        for i in range(0, len(data), 500):
            sent.append(i)
            yield data[i:i + 500]
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/v1/batches", content=chunked(),
                    headers={**auth(token), "content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and error_code(r) == "payload_too_large"
    assert list((data_dir / "uploads").iterdir()) == []
    assert snapshot() == before
