"""Receiving a batch upload: the multipart body is streamed to ``$FINCREDIT_DATA_DIR/uploads``.

Bytes are counted and hashed (SM3) as they arrive; the upload is aborted with 413
``payload_too_large`` as soon as the file exceeds ``settings.max_upload_bytes`` — the body is never
held in memory and a too-large file never reaches the disk in full. The client's file name is used
only as a label (the stored file gets a random name); a name with a directory part is refused.

The spool has an optional quota (``settings.upload_quota_bytes``): an upload that would make the
directory hold more is aborted with 507 ``upload_quota_exceeded``, and so is one the file system
refuses (ENOSPC, EDQUOT, EFBIG); any other write failure is 503 ``upload_storage_unavailable``. In every
case the partial file is removed and nothing is stored. Spool files are named
``batch-<host>-<pid>-<random>.upload`` so that ``clean_stale_uploads`` (run when the API starts)
removes the ones a crashed process left behind without touching another live process's uploads.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from fincredit.collection.parsers import safe_filename
from fincredit.collection.service import UploadedFile
from fincredit.errors import BadRequest, DomainError, PayloadTooLarge, Unprocessable
from fincredit.logs import get_logger
from fincredit.settings import get_settings

log = get_logger(__name__)

MAX_FIELD_BYTES = 1024
MAX_FIELDS = 20
FILE_FIELD = "file"
SPOOL_PREFIX = "batch-"
SPOOL_SUFFIX = ".upload"
QUOTA_RESCAN_BYTES = 16 * 1024 * 1024  # re-measure the spool (other uploads grow too) this often
STALE_AFTER_SECONDS = 24 * 3600  # a spool file of another host (or unknown origin) untouched this long


class UploadStorageError(DomainError):
    """The upload could not be stored: quota or disk full (507), or another storage failure (503)."""

    status_code = 507
    code = "upload_quota_exceeded"


def _host_tag() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def spool_usage(directory: Path) -> int:
    """Bytes held by the files in the upload spool."""
    total = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:  # finished meanwhile
                    continue
    except FileNotFoundError:
        return 0
    return total


def _storage_error(exc: OSError) -> UploadStorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return UploadStorageError("上传暂存空间已满，文件未保存，请稍后重试或联系平台运维")
    return UploadStorageError("上传暂存目录暂时不可写，文件未保存，请稍后重试", code="upload_storage_unavailable",
                              status_code=503)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def clean_stale_uploads(directory: Path, *, stale_after: float = STALE_AFTER_SECONDS) -> list[str]:
    """Remove spool files left by a crashed process; returns their names.

    A file of this host whose process is gone is removed at once; a file of another host (the
    spool may be shared) or without a recognisable name only when untouched for ``stale_after``.
    """
    removed: list[str] = []
    host, now = _host_tag(), time.time()
    try:
        entries = list(directory.glob(f"{SPOOL_PREFIX}*{SPOOL_SUFFIX}"))
    except OSError:
        return removed
    for path in entries:
        parts = path.name[len(SPOOL_PREFIX):].split("-")
        try:
            dead = parts[0] == host and len(parts) >= 3 and not _pid_alive(int(parts[1]))
            stale = now - path.stat().st_mtime > stale_after
        except (ValueError, OSError):
            continue
        if dead or stale:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    if removed:
        log.warning("stale_uploads_removed", count=len(removed), directory=str(directory))
    return removed


def check_client_filename(name: str) -> str:
    """A plain file name: path-like names (``../../etc/passwd``, ``C:\\x\\a.csv``) are refused."""
    if "/" in name or "\\" in name or name.strip().startswith(".."):
        raise Unprocessable("文件名不能包含路径（如 ../ 或目录分隔符）", code="bad_filename")
    return safe_filename(name)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class ReceivedForm:
    fields: dict[str, str]
    file: UploadedFile | None


class _Receiver:
    def __init__(self, dest_dir: Path, limit: int, quota: int | None = None) -> None:
        self.dest_dir, self.limit, self.quota = dest_dir, limit, quota
        self.others = 0  # bytes the spool held besides this upload, when last measured
        self.measured_at = 0
        self.fields: dict[str, str] = {}
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.fh: object = None
        self.path: Path | None = None
        self.filename: str | None = None
        self.size = 0
        self.hash = hashlib.new("sm3")
        self.file_started = False
        self.file_complete = False

    # python-multipart callbacks -------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.disposition)
        name = options.get(b"name")
        if name is None:
            raise Unprocessable("multipart 分段缺少字段名", code="bad_upload")
        self.part.name = name.decode("utf-8", "replace")
        if b"filename" in options:
            if self.part.name != FILE_FIELD or self.file_started:
                raise Unprocessable("一次只能上传一个文件，字段名为 file", code="bad_upload")
            self.part.filename = check_client_filename(options[b"filename"].decode("utf-8", "replace"))
            self.file_started = True
            self.filename = self.part.filename
            if self.quota is not None:
                self.others = spool_usage(self.dest_dir)
            try:
                fd, name_ = tempfile.mkstemp(prefix=f"{SPOOL_PREFIX}{_host_tag()}-{os.getpid()}-",
                                             suffix=SPOOL_SUFFIX, dir=self.dest_dir)
            except OSError as exc:
                raise _storage_error(exc) from None
            self.path = Path(name_)
            self.fh = os.fdopen(fd, "wb")
        elif len(self.fields) >= MAX_FIELDS:
            raise Unprocessable("表单字段过多", code="bad_upload")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part.filename is not None:
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLarge(f"文件超过上限 {self.limit} 字节", code="payload_too_large")
            self._check_quota()
            self.hash.update(chunk)
            try:
                self.fh.write(chunk)  # type: ignore[attr-defined]
            except OSError as exc:
                raise _storage_error(exc) from None
        else:
            self.part.data.extend(chunk)
            if len(self.part.data) > MAX_FIELD_BYTES:
                raise Unprocessable(f"表单字段“{self.part.name[:20]}”过长", code="bad_upload")

    def _check_quota(self) -> None:
        if self.quota is None:
            return
        if self.size - self.measured_at >= QUOTA_RESCAN_BYTES:
            try:
                self.fh.flush()  # type: ignore[attr-defined]
                own = os.fstat(self.fh.fileno()).st_size  # type: ignore[attr-defined]
            except OSError as exc:
                raise _storage_error(exc) from None
            self.others = max(0, spool_usage(self.dest_dir) - own)
            self.measured_at = self.size
        if self.others + self.size > self.quota:
            raise UploadStorageError(f"上传暂存空间配额（{self.quota} 字节）已用尽，文件未保存，请稍后重试或联系平台运维")

    def on_part_end(self) -> None:
        if self.part.filename is None:
            self.fields[self.part.name] = self.part.data.decode("utf-8", "replace").strip()
        else:
            try:
                self.fh.close()  # type: ignore[attr-defined]  # flushes: the disk may refuse here
            except OSError as exc:
                raise _storage_error(exc) from None
            self.file_complete = True

    def discard(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()  # type: ignore[attr-defined]
            except OSError:
                pass  # a full disk refusing the last flush: the file goes anyway
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def receive_form(content_type: str, stream: AsyncIterator[bytes], *, dest_dir: Path, limit: int,
                       before_file: Callable[[dict[str, str]], Awaitable[None]] | None = None,
                       quota: int | None = -1) -> ReceivedForm:
    """Parse a ``multipart/form-data`` body: small fields in memory, the ``file`` part on disk.

    ``before_file(fields)`` runs once the file part starts (with the fields sent before it), so a
    provider that may not deliver the category is refused before its file is received.
    ``quota``: most bytes ``dest_dir`` may hold (default: ``settings.upload_quota_bytes``; None: none).
    """
    if quota == -1:
        quota = get_settings().upload_quota_bytes
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise Unprocessable("请求应为 multipart/form-data，含 category 与 file 字段", code="bad_upload")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _storage_error(exc) from None
    receiver = _Receiver(dest_dir, limit, quota)
    callbacks = {name: getattr(receiver, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    parser = MultipartParser(params[b"boundary"], callbacks)  # type: ignore[arg-type]
    checked = before_file is None
    body_limit = limit + 1024 * 1024
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > body_limit:
                raise PayloadTooLarge(f"文件超过上限 {limit} 字节", code="payload_too_large")
            parser.write(chunk)
            if not checked and receiver.file_started:
                checked = True
                await before_file(dict(receiver.fields))  # type: ignore[misc]
        parser.finalize()
        if receiver.file_started and not receiver.file_complete:
            raise BadRequest("上传的文件不完整（请求体提前结束）", code="bad_upload")
        if not checked:
            await before_file(dict(receiver.fields))  # type: ignore[misc]
    except FormParserError:
        receiver.discard()
        raise BadRequest("multipart 请求体格式错误或不完整", code="bad_upload") from None
    except BaseException:
        receiver.discard()
        raise
    if receiver.path is None:
        return ReceivedForm(receiver.fields, None)
    upload = UploadedFile(path=receiver.path, filename=receiver.filename or "upload", size=receiver.size,
                          content_hash=receiver.hash.hexdigest())
    return ReceivedForm(receiver.fields, upload)
