"""Attachments of objections and repair applications: type by magic bytes, size, storage, SM3.

Only PDF, PNG and JPEG are accepted. The type is decided by the file's first bytes; the file name's
extension and the declared content type (when the client sent a specific one) must agree with it,
else 422 ``bad_attachment`` — a renamed executable or an HTML page called ``proof.pdf`` is refused.
Files are stored under ``$FINCREDIT_DATA_DIR/objections/<owner>/<id>/`` with a sanitised name and
their SM3 digest is kept (and goes to the ledger with the event that brought them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from fincredit.collection.parsers import safe_filename
from fincredit.crypto import sm3_hex
from fincredit.db import utcnow
from fincredit.errors import DomainError, NotFound, PayloadTooLarge, Unprocessable
from fincredit.objections.config import get_objection_settings
from fincredit.objections.models import Attachment
from fincredit.settings import get_settings

# detected type → (magic prefix, accepted extensions)
TYPES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}
# Declared types that say nothing specific (browsers and curl send them for unknown files).
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
DECLARED_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file as received: the client's name and declared type, and its bytes."""

    filename: str
    declared_type: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    sm3: str


def _bad(name: str, message: str) -> Unprocessable:
    return Unprocessable(f"附件“{name[:60]}”{message}", code="bad_attachment", details={"filename": name[:255]})


def detect_type(data: bytes) -> str | None:
    for content_type, (magic, _ext) in TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def check_file(incoming: IncomingFile, max_bytes: int | None = None) -> CheckedFile:
    """Validate one file (size, magic bytes, extension, declared type); raises 413 / 422."""
    max_bytes = max_bytes or get_objection_settings().attachment_max_bytes
    try:
        name = safe_filename(incoming.filename or "")
    except DomainError as exc:
        raise _bad(str(incoming.filename or ""), f"的文件名无效：{exc.message}") from exc
    if len(incoming.data) > max_bytes:
        raise PayloadTooLarge(f"附件“{name[:60]}”超过 {max_bytes // (1024 * 1024)} MB 上限",
                              code="attachment_too_large", details={"filename": name, "max_bytes": max_bytes})
    if not incoming.data:
        raise _bad(name, "是空文件")
    detected = detect_type(incoming.data)
    if detected is None:
        raise _bad(name, "不是 PDF、PNG 或 JPEG 文件（按文件内容判断）")
    extension = os.path.splitext(name)[1].lower()
    if extension not in TYPES[detected][1]:
        raise _bad(name, f"的扩展名与文件内容不符：内容是 {LABELS[detected]}，扩展名应为"
                         f"{'、'.join(TYPES[detected][1])}")
    declared = (incoming.declared_type or "").split(";")[0].strip().lower()
    declared = DECLARED_ALIASES.get(declared, declared)
    if declared not in GENERIC_TYPES and declared != detected:
        raise _bad(name, f"声明的类型（{declared[:40]}）与文件内容（{LABELS[detected]}）不符")
    return CheckedFile(name, detected, incoming.data, sm3_hex(incoming.data))


def check_files(files: Sequence[IncomingFile], *, required: bool = False) -> list[CheckedFile]:
    settings = get_objection_settings()
    if len(files) > settings.attachment_max_files:
        raise Unprocessable(f"附件最多 {settings.attachment_max_files} 个", code="too_many_attachments",
                            details={"max_files": settings.attachment_max_files, "received": len(files)})
    if required and not files:
        raise Unprocessable("必须附上整改（纠正失信行为）的证明材料", code="proof_required")
    return [check_file(f, settings.attachment_max_bytes) for f in files]


def store(session: Session, owner_kind: str, owner_id: int, files: Sequence[CheckedFile]) -> list[Attachment]:
    """Write the files to disk and their rows to the session (the caller's transaction)."""
    data_dir = get_settings().data_dir
    folder = Path("objections") / owner_kind / str(owner_id)
    (data_dir / folder).mkdir(parents=True, exist_ok=True)
    rows = []
    for f in files:
        relative = folder / f"{uuid.uuid4().hex[:12]}_{f.filename}"
        target = data_dir / relative
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(f.data)
        row = Attachment(owner_kind=owner_kind, owner_id=owner_id, filename=f.filename[:255],
                         content_type=f.content_type, size_bytes=len(f.data), sm3=f.sm3,
                         stored_path=str(relative)[:500], created_at=utcnow())
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def stored_file(session: Session, owner_kind: str, owner_id: int, attachment_id: int) -> tuple[Path, Attachment]:
    """The file of one attachment of an objection or repair (404 when it is not that owner's)."""
    row = session.get(Attachment, attachment_id) if 0 < attachment_id < 2**62 else None
    if row is None or row.owner_kind != owner_kind or row.owner_id != owner_id:
        raise NotFound("附件不存在", code="attachment_not_found")
    path = get_settings().data_dir / row.stored_path
    if not path.is_file():
        raise NotFound("附件文件已不存在", code="attachment_missing")
    return path, row


def attachment_dict(row: Attachment) -> dict:
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type,
            "size_bytes": row.size_bytes, "sm3": row.sm3}


def ledger_items(rows: Sequence[Attachment]) -> list[dict]:
    return [{"filename": r.filename, "sm3": r.sm3, "size_bytes": r.size_bytes} for r in rows]
