"""``fincredit calendar``: load and show holiday schedules, compute a forwarding deadline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console

from fincredit.cli_support import cli_actor, fail
from fincredit.db import session_scope
from fincredit.errors import DomainError

app = typer.Typer(help="工作日历：法定节假日与调休安排、异议转送期限", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command("load")
def load(year: int = typer.Argument(..., help="年份，如 2027"),
         file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                     help='JSON 文件：{"holidays": [...], "workdays": [...], "source": "..."}')
         ) -> None:
    """Load YEAR's holidays and make-up working days from FILE (a new version each time)."""
    from fincredit.objections import calendar_service

    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        fail("节假日安排不合法：文件不是合法的 UTF-8 JSON")
    try:
        with session_scope() as session:
            row = calendar_service.load_schedule(session, year, body, loaded_by=cli_actor())
            stored = calendar_service.schedule_to_dict(row)
    except DomainError as exc:
        fail(exc.message, details=exc.details)
    out.print(f"已加载 {year} 年节假日安排第 {stored['version']} 版：法定节假日 {len(stored['holidays'])} 天，"
              f"调休上班 {len(stored['workdays'])} 天。", highlight=False)


@app.command("show")
def show(year: int = typer.Argument(..., help="年份"),
         as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """Show the calendar that applies to YEAR, where it comes from, and its stored versions."""
    from fincredit.objections import calendar_service

    try:
        with session_scope() as session:
            view = calendar_service.effective_year(session, year)
    except DomainError as exc:
        fail(exc.message, details=exc.details)
    if as_json:
        out.print_json(data=view)
        return
    out.print(f"{year} 年：{view['source_label']}", highlight=False)
    out.print(f"  法定节假日：{'、'.join(view['holidays']) or '（无）'}", highlight=False)
    out.print(f"  调休上班日：{'、'.join(view['workdays']) or '（无）'}", highlight=False)
    for v in view["versions"]:
        out.print(f"  第 {v['version']} 版 {v['created_at']} {v['loaded_by']}：{v['source']}", highlight=False)
    for warning in view["warnings"]:
        err.print(f"[yellow]警告：[/yellow]{warning}", highlight=False)


@app.command("deadline")
def deadline(filed_at: str = typer.Argument(..., help="提交时间，须带时区，如 2026-09-30T10:00+08:00"),
             as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """The date by which an objection filed at FILED_AT must be forwarded (2 working days)."""
    from fincredit.objections import calendar_service

    try:
        moment = dt.datetime.fromisoformat(filed_at)
    except ValueError:
        fail(f"无法解析时间：{filed_at}（应为 ISO 8601 格式，如 2026-09-30T10:00+08:00）")
    if moment.tzinfo is None:
        fail("时间必须带时区，如 2026-09-30T10:00+08:00")
    with session_scope() as session:
        result = calendar_service.compute_forward_deadline(session, moment)
    if as_json:
        out.print_json(data=result.to_dict())
        return
    basis = "法定工作日" if result.calendar_basis == "official" else "仅按周末计算"
    out.print(f"起算日（第 0 日）：{result.start_date.isoformat()}", highlight=False)
    out.print(f"转送期限：{result.deadline.isoformat()}（{result.deadline_date.isoformat()} 当日结束前）",
              highlight=False)
    out.print(f"日历依据：{basis}", highlight=False)
    for warning in result.warnings:
        err.print(f"[yellow]警告：[/yellow]{warning}", highlight=False)
