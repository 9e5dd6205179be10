"""Matching a provider file's column headers to a category's fields (表头匹配), and the file-level
errors of collection.

Pure Python. Headers match after ``normalize_header`` (Unicode NFKC, trimmed, internal whitespace
and invisible format characters removed), so ``近一年增值税应纳税金额（元）`` matches
``近一年增值税应纳税金额(元)``; a field's ``aliases`` match too.

``match_headers(file_headers, fields)`` returns ``{header as written in the file: field name}``.
Empty header cells and the row-number columns in ``IGNORED_HEADERS`` are left out of the mapping
(their cells are ignored). Unknown columns, missing required columns and duplicate columns raise
``HeaderError`` (code ``bad_headers``) naming all of them; a header row that mostly does not belong
to the category gets a message saying the file is probably of another category.

``ParseError(code, message)`` is any problem that makes a whole file unusable; it is a
``fincredit.errors.Unprocessable`` (HTTP 422) and ``HeaderError`` is one of them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fincredit.errors import Unprocessable

IGNORED_HEADERS = frozenset({"序号", "行号"})
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"))


class ParseError(Unprocessable):
    """The whole file is refused: stable ``code`` and a Chinese ``message``."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)


class HeaderError(ParseError):
    """The header row does not fit the category (code ``bad_headers``)."""

    def __init__(self, *, unknown: list[str], missing: list[str], duplicate: list[str],
                 foreign: bool = False) -> None:
        self.unknown, self.missing, self.duplicate = unknown, missing, duplicate
        parts = []
        if unknown:
            parts.append(f"无法识别的列：{_listing(unknown)}")
        if missing:
            parts.append(f"缺少必填列：{_listing(missing)}")
        if duplicate:
            parts.append(f"重复的列：{_listing(duplicate)}")
        lead = "表头与所选信息类不符，可能是其他信息类的文件。" if foreign else "表头不正确。"
        super().__init__("bad_headers", lead + "；".join(parts),
                         details={"unknown": unknown, "missing": missing, "duplicate": duplicate})


def _listing(items: list[str], limit: int = 10) -> str:
    shown = "、".join(f"“{item[:40]}”" for item in items[:limit])
    return shown + (f" 等 {len(items)} 列" if len(items) > limit else "")


def normalize_header(header: object) -> str:
    """NFKC, trimmed, with internal whitespace and invisible format characters removed."""
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    return "".join(text.translate(_INVISIBLE).split())


def field_spec(field: object) -> Mapping[str, Any]:
    """A field description as a mapping: a dict, or a pydantic model (``catalog.FieldDef``)."""
    if isinstance(field, Mapping):
        return field
    dump = getattr(field, "model_dump", None)
    if dump is not None:
        return dump()
    return vars(field)


def field_labels(fields: Iterable[object]) -> dict[str, str]:
    """Normalised name or alias → field name."""
    labels: dict[str, str] = {}
    for field in map(field_spec, fields):
        for label in [field["name"], *(field.get("aliases") or ())]:
            labels[normalize_header(label)] = field["name"]
    return labels


def match_headers(file_headers: Sequence[object], fields: Sequence[object], *, require_all: bool = True,
                  ignore: Iterable[str] = IGNORED_HEADERS) -> dict[str, str]:
    """Map the file's headers to field names or raise ``HeaderError``.

    ``require_all=False`` (JSON Lines, whose objects may omit keys) skips the missing-column
    check; rows then fail individually with ``required``.
    """
    labels = field_labels(fields)
    ignored = {normalize_header(name) for name in ignore}
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    duplicate: list[str] = []
    named = 0
    for raw in file_headers:
        key = normalize_header(raw)
        if not key:
            continue
        named += 1
        if key in ignored:
            continue
        name = labels.get(key)
        if name is None:
            unknown.append(str(raw).strip())
        elif name in seen or str(raw) in mapping:
            duplicate.append(str(raw).strip())
        else:
            seen[name] = str(raw)
            mapping[str(raw)] = name
    missing = []
    if require_all:
        missing = [spec["name"] for spec in map(field_spec, fields)
                   if spec.get("required") and spec["name"] not in seen]
    if unknown or missing or duplicate:
        foreign = len(unknown) >= 2 and len(unknown) * 2 >= named
        raise HeaderError(unknown=unknown, missing=missing, duplicate=duplicate, foreign=foreign)
    return mapping
