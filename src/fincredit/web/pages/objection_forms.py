"""Reading the multipart forms of objections and repairs (fields + optional proof files)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from fincredit.objections.attachments import IncomingFile
from fincredit.objections.config import get_objection_settings


async def read_form_with_files(request: Request) -> tuple[FormData, list[IncomingFile]]:
    settings = get_objection_settings()
    form = await request.form(max_files=settings.attachment_max_files + 5, max_fields=50)
    files = []
    for _key, value in form.multi_items():
        if isinstance(value, UploadFile) and (value.filename or (value.size or 0) > 0):
            data = await value.read(settings.attachment_max_bytes + 1)
            files.append(IncomingFile(value.filename or "", value.content_type or "", data))
    return form, files


FormWithFiles = Annotated[tuple[FormData, list[IncomingFile]], Depends(read_form_with_files)]


def lines_to_values(text: str) -> dict[str, str] | None:
    """``字段名=值`` (or ``字段名：值``) per line → a dict; None for an empty text, {} when a line is bad."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        for separator in ("=", "：", ":"):
            if separator in line:
                key, value = line.split(separator, 1)
                values[key.strip()] = value.strip()
                break
        else:
            return {}
    return values or None
