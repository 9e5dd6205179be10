"""Batch upload from the browser (数据报送): the same streaming receiver and ``collection.service.ingest``
as ``POST /api/v1/batches``. The form is sent with XHR so that the page can show upload progress;
without JavaScript it is a plain form post. Used by the provider portal and by operators (on behalf
of a provider, like ``fincredit ingest --provider``)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fincredit.catalog.service import get_catalog
from fincredit.collection import repository, service
from fincredit.collection.uploads import receive_form
from fincredit.errors import DomainError
from fincredit.settings import get_settings
from fincredit.web.pagekit import STALE_FORM, redirect, render
from fincredit.web.sessions import PortalUser, csrf_valid

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".jsonl", ".ndjson", ".json")
WRONG_TYPE = "文件类型不支持：请上传 CSV（UTF-8 或 GBK）、XLSX 或 JSON Lines 文件"
FIELD_OF_CODE = {"unknown_provider": "provider", "unknown_category": "category", "category_retired": "category",
                 "category_not_assigned": "category", "not_responsible": "category", "bad_mode": "mode",
                 "missing_category": "category", "bad_filename": "file", "missing_file": "file",
                 "payload_too_large": "file", "bad_upload": "file"}


class FieldProblem(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


def upload_context(db: Session, user: PortalUser, *, provider_code: str | None) -> dict[str, Any]:
    catalog = get_catalog(db)
    providers = repository.list_providers(db)
    if provider_code is not None:
        providers = [p for p in providers if p.code == provider_code]
    allowed = {c for p in providers for c in (p.categories or [])}
    categories = [(c.code, f"{c.code}. {c.name}") for c in catalog.categories.values() if c.code in allowed
                  and not c.retired]
    return {"provider_options": [(p.code, f"{p.name}（{p.code}）") for p in providers], "category_options": categories,
            "choose_provider": provider_code is None, "accept": ",".join(ALLOWED_SUFFIXES)}


def _wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"


def _failed(request: Request, db: Session, user: PortalUser, template: str, base: dict, values: dict,
            errors: dict[str, str], provider_code: str | None) -> Response:
    db.rollback()
    if _wants_json(request):
        return JSONResponse({"errors": errors, "csrf_token": user.csrf_token}, status_code=422)
    return render(request, template, {**base, **upload_context(db, user, provider_code=provider_code),
                                      "form": values, "errors": errors}, status_code=422, user=user)


async def handle_upload(request: Request, db: Session, user: PortalUser, *, provider_code: str | None,
                        template: str, base: dict, result_url: str) -> Response:
    """Receive, check and ingest one batch; ``provider_code`` None: the operator chooses the provider."""
    settings = get_settings()
    values: dict[str, str] = {}

    async def before_file(fields: dict[str, str]) -> None:
        values.update({k: v for k, v in fields.items() if k != "csrf_token"})
        if not csrf_valid(request, fields.get("csrf_token"), user):
            raise FieldProblem({"_form": STALE_FORM})
        errors = {}
        if provider_code is None and not fields.get("provider"):
            errors["provider"] = "请选择数据提供单位"
        if not fields.get("category"):
            errors["category"] = "请选择信息类"
        if errors:
            raise FieldProblem(errors)
        try:
            await run_in_threadpool(service.check_delivery, db, provider_code=provider_code or fields["provider"],
                                    category_code=fields["category"], mode=fields.get("mode") or "store_valid")
        except DomainError as exc:
            raise FieldProblem({FIELD_OF_CODE.get(exc.code, "category"): exc.message}) from None

    try:
        form = await receive_form(request.headers.get("content-type", ""), request.stream(),
                                  dest_dir=settings.data_dir / "uploads", limit=settings.max_upload_bytes,
                                  before_file=before_file)
    except FieldProblem as exc:
        return _failed(request, db, user, template, base, values, exc.errors, provider_code)
    except DomainError as exc:
        return _failed(request, db, user, template, base, values,
                       {FIELD_OF_CODE.get(exc.code, "_form"): exc.message}, provider_code)
    upload = form.file
    if upload is None or upload.size == 0:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        return _failed(request, db, user, template, base, values, {"file": "请选择要上传的文件"}, provider_code)
    if os.path.splitext(upload.filename)[1].lower() not in ALLOWED_SUFFIXES:
        upload.path.unlink(missing_ok=True)
        return _failed(request, db, user, template, base, values, {"file": WRONG_TYPE}, provider_code)
    try:
        result = await run_in_threadpool(
            service.ingest, db, provider_code=provider_code or form.fields["provider"],
            category_code=form.fields["category"], upload=upload, mode=form.fields.get("mode") or "store_valid",
            encoding=form.fields.get("encoding") or None, uploaded_by=user.display_name or user.subject)
    except DomainError as exc:
        return _failed(request, db, user, template, base, values,
                       {FIELD_OF_CODE.get(exc.code, "_form"): exc.message}, provider_code)
    finally:
        upload.path.unlink(missing_ok=True)
    url = result_url.format(id=result.batch.id)
    message = "批次已处理" if result.created else "相同内容此前已报送，未重复入库，以下为第一次报送的批次"
    if _wants_json(request):
        response: Response = JSONResponse({"redirect": url})
        from fincredit.web.pagekit import flash

        flash(response, message, "success" if result.created else "info")
        return response
    return redirect(url, message, "success" if result.created else "info")
