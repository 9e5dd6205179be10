"""The enterprise's own values of the rule indicators (``rules.INDICATORS``), read from its current
evaluation, its registration base and the disclosure capability's processed products."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.db import as_utc
from fincredit.disclosure import repository as disclosure_repository
from fincredit.disclosure.product_kinds import NO_DATA, RecordView, streak_months, to_decimal
from fincredit.disclosure.product_kinds import evaluate as evaluate_product
from fincredit.disclosure.products import products_for, record_date
from fincredit.evaluation.service import current_evaluation
from fincredit.financing.rules import INDICATORS
from fincredit.registry.models import Enterprise


def _views(session: Session, uscc: str) -> dict[str, list[RecordView]]:
    catalog = get_catalog(session)
    out: dict[str, list[RecordView]] = {}
    for rec in disclosure_repository.records_of(session, [uscc]):
        cat = catalog.categories.get(rec.category_code)
        if cat is None:
            continue
        received = as_utc(rec.received_at)
        out.setdefault(cat.code, []).append(RecordView(
            data=dict(rec.data or {}), is_current=bool(rec.is_current), received_at=received,
            record_date=record_date(cat, rec.data or {}, received)))
    return out


def _product_value(session: Session, views: dict[str, list[RecordView]], ind_type: str, source: str,
                   today: dt.date) -> Any:
    category, code = source.removeprefix("product:").split("/")
    catalog = get_catalog(session)
    cat = catalog.categories.get(category)
    records = views.get(category, [])
    if cat is None or not records:
        return None
    product = next((p for p in products_for(cat) if p.code == code), None)
    if product is None:
        return None
    if product.kind == "streak":
        return streak_months(records, product.field or "")
    if product.kind == "band":  # the number behind the band (e.g. months of continuous tax payment)
        values = [v for r in records if r.is_current and (v := to_decimal(r.data.get(product.field))) is not None]
        return float(values[-1]) if values else None
    value = evaluate_product(product, records, today)
    if value == NO_DATA:
        return None
    if ind_type == "bool":
        return value == product.labels.get(True)
    return value


def indicator_values(session: Session, uscc: str, today: dt.date | None = None) -> dict[str, Any]:
    """Every indicator's value for the enterprise (None when there are no data)."""
    today = today or dt.date.today()
    enterprise = session.get(Enterprise, uscc)
    evaluation = current_evaluation(session, uscc)
    views = _views(session, uscc)
    years = None
    if enterprise is not None and enterprise.established_on is not None:
        years = round((today - enterprise.established_on).days / 365.25, 1)
    values: dict[str, Any] = {
        "grade": evaluation.grade if evaluation else None,
        "score": evaluation.score if evaluation else None,
        "size_class": enterprise.size_class if enterprise else None,
        "region": enterprise.region_code if enterprise else None,
        "industry": enterprise.industry_code if enterprise else None,
        "years_established": years,
    }
    for ind in INDICATORS.values():
        if ind.source.startswith("product:"):
            value = _product_value(session, views, ind.type, ind.source, today)
            values[ind.code] = float(value) if isinstance(value, Decimal) else value
    return values
