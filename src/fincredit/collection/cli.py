"""Command line of collection: ``fincredit ingest``, ``fincredit provider …``, ``fincredit quality``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fincredit.cli_support import fail
from fincredit.collection.ingest import DEFAULT_CHUNK_ROWS

provider_app = typer.Typer(help="数据提供单位（登记、令牌、接口调用、模拟器）", no_args_is_help=True)
err = Console(stderr=True)

STATUS_LABELS = {"accepted": "已入库", "partially_accepted": "部分入库", "rejected": "已拒绝"}


def _print_batch(summary: dict, *, duplicate: bool, file_error: object, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({**summary, "duplicate": duplicate}, ensure_ascii=False) + "\n")
        return
    note = "（相同内容已报送过，返回第一个批次，未重复入库）" if duplicate else ""
    lines = [
        f"批次 {summary['id']}：{summary['status']}（{STATUS_LABELS.get(summary['status'], '')}）{note}",
        f"  信息类 {summary['category']} · 数据提供单位 {summary['provider']} · 共享清单第 {summary['catalog_version']} 版",
        f"  行数 {summary['rows_total']} · 入库 {summary['accepted']} · 拒绝 {summary['rejected']} · "
        f"更新 {summary['superseded']} · 未变 {summary['unchanged']}",
        f"  文件 {summary['filename']}（{summary['file_format']}，{summary['encoding'] or '-'}，"
        f"{summary['size_bytes']} 字节，SM3 {summary['content_hash'][:16]}…）",
    ]
    if summary.get("ledger_index") is not None:
        lines.append(f"  账本条目 {summary['ledger_index']}")
    if summary.get("error_summary"):
        lines.append("  错误：" + summary["error_summary"].replace("\n", "\n        "))
    sys.stdout.write("\n".join(lines) + "\n")


def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV、XLSX 或 JSON Lines 文件"),
    provider: str = typer.Option(..., "--provider", help="数据提供单位编码"),
    category: str = typer.Option(..., "--category", help="信息类编码：1…37 或 base"),
    mode: str = typer.Option("store_valid", "--mode", help="store_valid（默认）| all_or_nothing"),
    encoding: str | None = typer.Option(None, "--encoding", help="声明 CSV 编码：utf-8、gbk、gb18030"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出批次摘要"),
    chunk_rows: int = typer.Option(DEFAULT_CHUNK_ROWS, "--chunk-rows", hidden=True, min=1),
) -> None:
    """Ingest one file as one batch and print its summary; exit status 1 when the batch is rejected."""
    from fincredit.collection import provider_service, service
    from fincredit.db import session_scope
    from fincredit.errors import DomainError

    try:
        upload = service.uploaded_file(file)
        with session_scope() as session:
            _provider, created = provider_service.ensure_catalog_provider(session, provider)
            if created:
                err.print(f"已按共享清单登记数据提供单位 {provider}")
            result = service.ingest(session, provider_code=provider, category_code=category, upload=upload,
                                    mode=mode, encoding=encoding, uploaded_by=f"cli:{provider}",
                                    chunk_rows=chunk_rows)
            summary = service.batch_dict(session, result.batch)
    except DomainError as exc:
        fail(f"{exc.message}（{exc.code}）", 2)
    _print_batch(summary, duplicate=not result.created, file_error=result.file_error, as_json=as_json)
    if summary["status"] == "rejected":
        raise typer.Exit(1)


@provider_app.command("add")
def provider_add(code: str = typer.Argument(...), name: str = typer.Argument(...),
                 category: list[str] = typer.Option(..., "--category", help="负责的信息类，可重复")) -> None:
    """Register a data provider and the categories it is responsible for."""
    from fincredit.collection import provider_service
    from fincredit.db import session_scope
    from fincredit.errors import DomainError

    try:
        with session_scope() as session:
            provider = provider_service.register_provider(session, code=code, name=name, categories=category)
            cats = ", ".join(provider.categories)
    except DomainError as exc:
        fail(exc.message, 2)
    err.print(f"已登记数据提供单位 {code}（{name}），负责信息类：{cats}")


@provider_app.command("token")
def provider_token(code: str = typer.Argument(...), name: str | None = typer.Option(None, help="令牌名称")) -> None:
    """Print a new bearer token for the provider (and nothing else) on stdout."""
    from fincredit.collection import provider_service
    from fincredit.db import session_scope
    from fincredit.errors import DomainError

    try:
        with session_scope() as session:
            raw = provider_service.issue_provider_token(session, code, name)
    except DomainError as exc:
        fail(exc.message, 2)
    sys.stdout.write(raw + "\n")


@provider_app.command("list")
def provider_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List registered data providers."""
    from fincredit.collection import provider_service, repository
    from fincredit.db import session_scope

    with session_scope() as session:
        rows = [provider_service.provider_dict(p) for p in repository.list_providers(session)]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table("编码", "名称", "负责的信息类", "接口地址")
    for p in rows:
        table.add_row(p["code"], p["name"], ", ".join(p["categories"]), p["endpoint_url"] or "-")
    Console().print(table)


@provider_app.command("endpoint")
def provider_endpoint(code: str = typer.Argument(...), url: str = typer.Option(...),
                      secret: str = typer.Option(..., help="签名密钥（16–200 字符）")) -> None:
    """Register the provider's interface-call endpoint and signing secret."""
    from fincredit.collection import provider_service
    from fincredit.db import session_scope
    from fincredit.errors import DomainError

    try:
        with session_scope() as session:
            provider_service.set_endpoint(session, code, url=url, secret=secret)
    except DomainError as exc:
        fail(exc.message, 2)
    err.print(f"已登记 {code} 的接口地址 {url}")


@provider_app.command("simulate")
def provider_simulate(province: Path = typer.Option(..., "--province", exists=True, file_okay=False),
                      port: int = typer.Option(8600, "--port"), host: str = typer.Option("127.0.0.1", "--host"),
                      secret: str | None = typer.Option(None, "--secret", help="校验请求签名的密钥")) -> None:
    """Serve a provider's interface (GET /records?category=&uscc=) from a synthetic province directory."""
    import uvicorn

    from fincredit.collection.simulator import create_simulator

    app = create_simulator(province, secret=secret)
    err.print(f"模拟数据提供单位接口：http://{host}:{port}/records?category=1&uscc=…")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def quality(provider: str | None = typer.Option(None, "--provider"), category: str | None = typer.Option(None, "--category"),
            as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """Collection quality per provider and category: accuracy, completeness, timeliness."""
    from fincredit.collection.quality import report
    from fincredit.db import session_scope

    with session_scope() as session:
        rows = report(session, provider_code=provider, category_code=category)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table("单位", "信息类", "批次", "行数", "拒绝率", "主要原因", "现行记录", "字段填充率", "企业覆盖率",
                  "最新数据（天）", "周期", "及时", title="归集质量")
    for r in rows:
        a, c, t = r["accuracy"], r["completeness"], r["timeliness"]
        table.add_row(r["provider"], f"{r['category']} {r['category_name'] or ''}", str(a["batches"]),
                      str(a["rows_total"]), _pct(a["rejection_rate"]),
                      ", ".join(f"{x['code']}×{x['count']}" for x in a["top_reasons"][:3]) or "-",
                      str(c["current_records"]), _pct(c["mean_fill_rate"]), _pct(c["coverage"]),
                      "-" if t["age_days"] is None else f"{t['age_days']:.1f}", str(t["update_cycle_days"] or "-"),
                      "[red]逾期[/red]" if t["late"] else "[green]正常[/green]")
    Console(width=200).print(table)
