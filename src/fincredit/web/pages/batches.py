"""Batch lists and the batch result page (rows, errors with row/field/reason), shared by the provider
portal and the operator portal; reading goes through ``collection.repository``/``service.batch_dict``
exactly as ``GET /api/v1/batches`` does."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection import repository, service
from fincredit.errors import NotFound

ERRORS_PER_PAGE = 100


def batch_rows(db: Session, *, provider: str | None, category: str | None = None, status: str | None = None,
               page: int = 1, size: int = 50) -> dict[str, Any]:
    page = max(1, min(page, 100_000))
    rows, total = repository.list_batches(db, provider_code=provider, category_code=category or None,
                                          status=status or None, limit=size, offset=(page - 1) * size)
    names = {c.code: c.name for c in get_catalog(db).categories.values()}
    return {"batches": [service.batch_dict(db, b) for b in rows], "total": total, "page": page,
            "pages": max(1, -(-total // size)), "category_names": names}


def batch_detail(db: Session, batch_id: int, *, provider: str | None, page: int = 1) -> dict[str, Any]:
    batch = repository.get_batch(db, batch_id) if 1 <= batch_id <= 2**62 else None
    if batch is None or (provider is not None and batch.provider_code != provider):
        raise NotFound("批次不存在", code="batch_not_found")
    page = max(1, min(page, 100_000))
    errors, total = repository.list_errors(db, batch.id, limit=ERRORS_PER_PAGE, offset=(page - 1) * ERRORS_PER_PAGE)
    catalog = get_catalog(db)
    cat = catalog.categories.get(batch.category_code)
    return {"batch": service.batch_dict(db, batch), "errors_rows": errors, "errors_total": total, "page": page,
            "pages": max(1, -(-total // ERRORS_PER_PAGE)), "category_name": cat.name if cat else batch.category_code}
