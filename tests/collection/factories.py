"""Valid rows for any catalog category, and writers for every delivery format (tests only)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fincredit.catalog.definitions import CategoryDef, FieldDef, load_annex
from fincredit.collection.identifiers import resident_id_check_digit, uscc_check_digit

CATEGORIES = {c.code: c for c in load_annex().categories}


def uscc(i: int) -> str:
    body = f"91320100{i:09d}"
    return body + uscc_check_digit(body)


def resident_id(i: int, year: int = 1980) -> str:
    body = f"320102{year}0101{i % 1000:03d}"[:17]
    return body + resident_id_check_digit(body)


def value(cat: CategoryDef, f: FieldDef, i: int, subject: int) -> object:
    """A valid value of field ``f`` for row ``i`` about subject number ``subject``."""
    t = f.type
    if t == "text":
        text = f"{f.name[:6]}{i}"
        return text[: f.max_length] if f.max_length else text
    if t == "uscc":
        return uscc(subject)
    if t == "resident_id":
        return resident_id(subject)
    if t == "id_type":
        number_field = next((x for x in cat.fields if x.id_type_field == f.name), None)
        return "居民身份证" if number_field is not None and _is_person_id(cat, number_field) else "统一社会信用代码"
    if t == "id_number":
        return resident_id(subject) if _is_person_id(cat, f) else uscc(subject)
    return {
        "date": "2024-03-15", "year_month": "2024-03", "year": 2023, "datetime": "2024-03-15 10:00:00",
        "amount_yuan": f"{1000 + i}.50", "amount_wan": f"{10 + i}.5", "count": 5 + i % 50, "months": 12,
        "number": "3.5", "percent": "12", "boolean": "是" if i % 2 else "否", "range": "100-500",
        "phone": "13812345678", "region_code": "320102", "industry_code": "C3911",
    }.get(t, f.values[i % len(f.values)] if f.values else "x")


def _is_person_id(cat: CategoryDef, f: FieldDef) -> bool:
    if f.identifies:
        return cat.subject in ("person", "party") and f.personal
    return f.personal and f.id_type_field is not None


def rows(code: str, n: int, start: int = 0, subjects: int | None = None) -> list[dict[str, object]]:
    """``n`` valid rows of category ``code``; row ``i`` is about subject ``i % subjects``.

    Natural keys are made unique per row by varying the first text / date key field."""
    cat = CATEGORIES[code]
    out = []
    for i in range(start, start + n):
        subject = i % subjects if subjects else i
        row = {f.name: value(cat, f, i, subject) for f in cat.fields}
        for name in cat.natural_key:
            f = cat.field(name)
            if f.type == "text" and not f.identifies:
                row[name] = f"{name[:4]}{i}"
        if code == "base":
            row["登记状态"] = "存续"
        out.append(row)
    return out


def to_csv(rows_: list[dict], path: Path, encoding: str = "utf-8", headers: list[str] | None = None) -> Path:
    headers = headers or list(rows_[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows_:
        writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def to_jsonl(rows_: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_), encoding="utf-8")
    return path


def to_xlsx(rows_: list[dict], path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    headers = list(rows_[0])
    ws.append(headers)
    for row in rows_:
        ws.append([row.get(h) for h in headers])
    wb.save(path)
    return path
