"""``fincredit ledger …``: verify the whole log, verify a receipt or evidence bundle offline, checkpoints.

``verify-receipt`` imports only the offline verifier: it touches no database and creates no files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="防篡改账本", no_args_is_help=True)
err = Console(stderr=True)


@app.command("verify")
def verify(
    public_key: str = typer.Option(None, help="pin the platform's Ed25519 public key (base64) instead of "
                                              "the local key ring"),
    deep: bool = typer.Option(False, help="also parse every entry and check it against its columns"),
    workers: int = typer.Option(0, help="processes for the fast path (0: one per CPU, at most 8)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON on stdout"),
) -> None:
    """Recompute the whole tree from the entries; exit 0 when intact, 1 naming the first bad entry."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from fincredit.db import session_scope
    from fincredit.ledger.audit import audit
    from fincredit.ledger.verifier import key_id

    if public_key:
        raw = base64.b64decode(public_key)
    else:
        from cryptography.hazmat.primitives import serialization

        from fincredit.crypto import get_keyring

        raw = get_keyring().public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keys = {key_id(raw): Ed25519PublicKey.from_public_bytes(raw)}
    import os

    workers = workers or min(os.cpu_count() or 1, 8)
    with session_scope() as session:
        report = audit(session.connection(), keys, deep=deep, workers=workers)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    if report.problem is None:
        err.print(f"账本完整：{report.size} 条记录，{report.checkpoints} 个已签名检查点，"
                  f"耗时 {report.seconds:.2f} 秒")
        return
    where = f"第一个异常条目：#{report.problem.index}；" if report.problem.index is not None else ""
    err.print(f"[red]账本校验失败：[/red]{where}{report.problem.reason}（{report.problem.detail}）")
    raise typer.Exit(1)


@app.command("verify-receipt")
def verify_receipt(
    file: Path = typer.Argument(..., help="a receipt or evidence bundle (JSON)"),
    public_key: str = typer.Option(None, "--public-key", help="the platform's Ed25519 public key, base64"),
    public_key_file: Path = typer.Option(None, "--public-key-file",
                                         help="a file with the key (base64, or the JSON of GET /api/v1/ledger/public-key)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
) -> None:
    """Check a receipt or evidence bundle offline (no server, no database)."""
    from fincredit.ledger.verifier import VerificationError, read_public_key, verify_file

    if public_key and public_key_file:
        err.print("[red]错误：[/red]--public-key 与 --public-key-file 只能给出一个")
        raise typer.Exit(2)
    if public_key_file:
        try:
            public_key = read_public_key(public_key_file.read_text())
        except (OSError, VerificationError) as exc:
            err.print(f"[red]错误：[/red]无法读取公钥文件 {public_key_file}：{exc}")
            raise typer.Exit(2) from None
    result = verify_file(file, public_key)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    if not result.ok:
        err.print(f"[red]核验失败：[/red]{result.error}")
        raise typer.Exit(1)
    label = "回执" if result.kind.endswith("receipt") else "证据包"
    indexes = "、".join(f"#{i}" for i in result.indexes)
    err.print(f"{label}有效：条目 {indexes} 包含在已签名检查点中（大小 {result.tree_size}，"
              f"根哈希 {result.root[:16]}…，时间 {result.timestamp}，密钥 {result.kid}）")
    if not result.key_pinned:
        err.print("[yellow]注意：[/yellow]使用的是文件内嵌的公钥；请用 --public-key 或 --public-key-file "
                  "固定平台公钥（GET /api/v1/ledger/public-key）后再作为证据使用")


@app.command("checkpoint")
def checkpoint() -> None:
    """Issue a signed checkpoint of the current tree and print it as JSON."""
    from fincredit.db import session_scope
    from fincredit.ledger import service

    with session_scope() as session:
        doc = service.checkpoint_dict(service.issue_checkpoint(session))
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")


@app.command("receipt")
def receipt(index: int = typer.Argument(..., help="entry index"),
            out: Path = typer.Option(None, help="write to this file instead of stdout")) -> None:
    """Write the receipt of one entry (for operators; parties fetch theirs over the API)."""
    from fincredit.db import session_scope
    from fincredit.errors import DomainError
    from fincredit.ledger import service

    try:
        with session_scope() as session:
            doc = service.receipt(session, index)
    except DomainError as exc:
        err.print(f"[red]错误：[/red]{exc.message}")
        raise typer.Exit(1) from None
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if out:
        out.write_text(text)
    else:
        sys.stdout.write(text)
