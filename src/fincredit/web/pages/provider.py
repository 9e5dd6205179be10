"""数据报送 (provider portal): upload a batch with a progress bar, list own batches, see a batch's result."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fincredit.web.pagekit import DB, PageRoute, ProviderUser, render
from fincredit.web.pages.batches import batch_detail, batch_rows
from fincredit.web.pages.uploads import handle_upload, upload_context

router = APIRouter(prefix="/provider", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("数据报送", "/provider")]


@router.get("", response_class=HTMLResponse)
def home(request: Request, db: DB, user: ProviderUser) -> HTMLResponse:
    return render(request, "provider/upload.html", {
        "title": "批次报送", "breadcrumb": CRUMBS, "action": "/provider/upload",
        **upload_context(db, user, provider_code=user.subject),
        **batch_rows(db, provider=user.subject, size=10)}, user=user)


@router.post("/upload")
async def upload(request: Request, db: DB, user: ProviderUser) -> Response:
    return await handle_upload(request, db, user, provider_code=user.subject, template="provider/upload.html",
                               base={"title": "批次报送", "breadcrumb": CRUMBS, "action": "/provider/upload",
                                     "batches": []},
                               result_url="/provider/batches/{id}")


@router.get("/batches", response_class=HTMLResponse)
def batches(request: Request, db: DB, user: ProviderUser, page: int = 1, category: str = "",
            status: str = "") -> HTMLResponse:
    return render(request, "provider/batches.html", {
        "title": "我的批次", "breadcrumb": [*CRUMBS, ("我的批次", "")], "base_url": "/provider/batches",
        "filters": {"category": category[:32], "status": status[:24]},
        **batch_rows(db, provider=user.subject, category=category[:32], status=status[:24], page=page)}, user=user)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(batch_id: int, request: Request, db: DB, user: ProviderUser, page: int = 1) -> HTMLResponse:
    return render(request, "batch_detail.html", {
        "title": f"批次 {batch_id}", "breadcrumb": [*CRUMBS, ("我的批次", "/provider/batches"), (f"批次 {batch_id}", "")],
        "base_url": f"/provider/batches/{batch_id}", **batch_detail(db, batch_id, provider=user.subject, page=page)},
        user=user)
