"""``fincredit catalog …``: show the sharing list, its versions, and adjust a category."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from fincredit.catalog import service
from fincredit.catalog.definitions import DISCLOSURE_CLASS_LABELS, SHARING_METHOD_LABELS
from fincredit.db import session_scope
from fincredit.errors import DomainError

app = typer.Typer(help="信用信息共享清单", no_args_is_help=True)
console = Console()


@app.command("show")
def show(version: int = typer.Option(None, help="version number; default the current one")) -> None:
    """List the categories of the catalog."""
    try:
        with session_scope() as session:
            snap = service.get_catalog(session, version)
    except DomainError as exc:
        Console(stderr=True).print(f"[red]错误：[/red]{exc.message}")
        raise typer.Exit(1) from None
    table = Table(title=f"信用信息共享清单 第 {snap.version} 版（{len(snap.categories)} 类）")
    for col in ("编码", "信息类", "共享方式", "公开属性", "责任单位", "字段数"):
        table.add_column(col)
    for cat in snap.categories.values():
        table.add_row(cat.code, cat.name, SHARING_METHOD_LABELS[cat.sharing_method],
                      DISCLOSURE_CLASS_LABELS[cat.disclosure_class], snap.providers.get(cat.provider, cat.provider),
                      str(len(cat.fields)))
    console.print(table)


@app.command("versions")
def versions() -> None:
    """List every catalog version."""
    with session_scope() as session:
        for v in service.list_versions(session):
            console.print(f"{v.version}\t{v.created_at:%Y-%m-%d %H:%M}\t{v.source}\t{v.created_by}\t{v.note}")


@app.command("set")
def set_category(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML or JSON definition"),
                 note: str = typer.Option("", help="note for the new version"),
                 provider_name: str = typer.Option(None, help="name of a new provider code"),
                 actor: str = typer.Option("cli", help="who makes the change")) -> None:
    """Add or adjust one category from a file; creates a new catalog version."""
    err = Console(stderr=True)
    try:
        text = file.read_text(encoding="utf-8")
        payload = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        err.print(f"[red]错误：[/red]无法解析定义文件：{exc}")
        raise typer.Exit(1) from None
    if not isinstance(payload, dict):
        err.print("[red]错误：[/red]定义文件必须是一个对象")
        raise typer.Exit(1)
    try:
        with session_scope() as session:
            row = service.adjust_category(session, payload, actor=actor, note=note, provider_name=provider_name)
            version = row.version
    except DomainError as exc:
        err.print(f"[red]错误：[/red]{exc.message}")
        raise typer.Exit(1) from None
    console.print(f"已生成共享清单第 {version} 版")
