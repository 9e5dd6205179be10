"""A data provider's interface (接口调用) simulated from a synthetic province directory.

``create_simulator(directory, secret=None)`` returns a small FastAPI app answering
``GET /records?category=C&uscc=S`` with ``{"category": C, "rows": [{field: value, …}]}`` — the rows
of the province's file for C about S, as a provider's system would. Person categories (8) are
answered for the enterprise's legal representative (from the registration base file). With a
``secret`` the request signature of ``interface.sign_request`` is checked (401 otherwise).

The files are found through ``manifest.json`` (entries with ``category`` and ``file``/``path``),
else by name (``<category>.csv``, ``<category>_….jsonl`` …). Served by
``fincredit provider simulate --province DIR --port P`` (loopback only by default).
"""

from __future__ import annotations

import hmac
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from fincredit.catalog.definitions import CategoryDef, load_annex
from fincredit.collection.interface import INTERFACE_METHODS, sign_request
from fincredit.collection.parsers import iter_records
from fincredit.collection.validators import RowError

MAX_CLOCK_SKEW = 300
SUFFIXES = (".csv", ".jsonl", ".xlsx")


def _entries(manifest: Any) -> list[dict]:
    if isinstance(manifest, dict):
        for key in ("files", "categories", "outputs"):
            value = manifest.get(key)
            if isinstance(value, list):
                return [v for v in value if isinstance(v, dict)]
            if isinstance(value, dict):
                return [{"category": k, **v} if isinstance(v, dict) else {"category": k, "file": v}
                        for k, v in value.items()]
    return [v for v in manifest if isinstance(v, dict)] if isinstance(manifest, list) else []


def province_files(directory: Path) -> dict[str, tuple[Path, str | None]]:
    """Category code → (file, declared encoding) of a synthetic province."""
    found: dict[str, tuple[Path, str | None]] = {}
    manifest = directory / "manifest.json"
    if manifest.exists():
        for entry in _entries(json.loads(manifest.read_text(encoding="utf-8"))):
            name = entry.get("file") or entry.get("path") or entry.get("filename")
            code = entry.get("category") or entry.get("code")
            if name and code is not None and (directory / name).is_file():
                found[str(code)] = (directory / name, entry.get("encoding"))
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in SUFFIXES:
            code = path.stem.split("_", 1)[0].split("-", 1)[0]
            found.setdefault(str(int(code)) if code.isdigit() else code, (path, None))
    return found


def _load(path: Path, category: CategoryDef, encoding: str | None) -> list[dict[str, Any]]:
    rows = []
    declared = encoding if encoding in ("utf-8", "gbk", "gb18030") else None
    with iter_records(path, fields=category.fields, encoding=declared) as parsed:
        for _row, raw in parsed:
            if not isinstance(raw, RowError):
                rows.append({k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
                             for k, v in raw.items()})
    return rows


def _key(value: object) -> str:
    return "".join(str(value or "").split()).upper()


class Province:
    """The interface categories of a province, indexed by their subject identifier."""

    def __init__(self, directory: Path, categories: list[str] | None = None) -> None:
        annex = {c.code: c for c in load_annex().categories}
        files = province_files(directory)
        self.by_subject: dict[str, dict[str, list[dict]]] = {}
        self.legal_rep: dict[str, str] = {}
        wanted = categories or [c for c, d in annex.items() if d.sharing_method in INTERFACE_METHODS]
        for code in wanted:
            if code not in files or code not in annex:
                continue
            cat = annex[code]
            index: dict[str, list[dict]] = defaultdict(list)
            for row in _load(files[code][0], cat, files[code][1]):
                index[_key(row.get(cat.subject_field.name))].append(row)
            self.by_subject[code] = dict(index)
        if "base" in files and any(annex[c].subject == "person" for c in self.by_subject):
            for row in _load(files["base"][0], annex["base"], files["base"][1]):
                self.legal_rep[_key(row.get("统一社会信用代码"))] = _key(row.get("法定代表人证件号码"))
        self.subjects = {c: annex[c].subject for c in self.by_subject}

    def rows(self, category: str, uscc: str) -> list[dict] | None:
        index = self.by_subject.get(category)
        if index is None:
            return None
        key = _key(uscc)
        if self.subjects[category] == "person":
            key = self.legal_rep.get(key, "")
        return index.get(key, [])


def create_simulator(directory: Path, *, secret: str | None = None,
                     categories: list[str] | None = None) -> FastAPI:
    province = Province(Path(directory), categories)
    app = FastAPI(title="数据提供单位接口模拟器", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/records")
    def records(request: Request, category: str = Query(..., max_length=32),
                uscc: str = Query(..., max_length=64)) -> JSONResponse:
        if secret is not None:
            ts = request.headers.get("x-fincredit-timestamp", "")
            ref = request.headers.get("x-fincredit-authorization", "")
            target = f"{request.url.path}?{request.url.query}"
            expected = sign_request(secret, ts, request.method, target, ref)
            fresh = ts.isdigit() and abs(time.time() - int(ts)) <= MAX_CLOCK_SKEW
            if not fresh or not hmac.compare_digest(expected, request.headers.get("x-fincredit-signature", "")):
                return JSONResponse({"error": {"code": "bad_signature", "message": "请求签名无效"}}, status_code=401)
        rows = province.rows(category, uscc)
        if rows is None:
            return JSONResponse({"error": {"code": "unknown_category", "message": "本接口不提供该信息类"}},
                                status_code=404)
        return JSONResponse({"category": category, "rows": rows})

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "categories": sorted(province.by_subject)}

    return app
