"""``fincredit institution``: onboard institutions and docked platforms, assess them, change their
status, issue their tokens."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from fincredit.cli_support import cli_actor, fail
from fincredit.db import session_scope
from fincredit.errors import DomainError

app = typer.Typer(help="接入机构与对接平台：登记、评估、启用/暂停/退出、令牌", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command("add")
def add(name: str = typer.Argument(..., help="机构名称"),
        kind: str = typer.Option(..., help="bank | guarantor | local_financial | platform"),
        uscc: str = typer.Option("", help="统一社会信用代码"),
        region: str = typer.Option("", help="行政区划代码（6 位）")) -> None:
    """Register an institution (status: applied) and print its id."""
    from fincredit.institutions import service

    if region and not (len(region) == 6 and region.isdigit()):
        err.print("[red]错误：[/red]行政区划代码应为 6 位数字", highlight=False)
        raise typer.Exit(1)
    try:
        with session_scope() as session:
            row = service.create_institution(session, name=name, kind=kind, uscc=uscc or None,
                                             region_code=region or None, actor=cli_actor())
            institution_id = row.id
    except DomainError as exc:
        fail(exc.message)
    out.print(f"已登记机构 {institution_id}：{name}（申请接入）", highlight=False)


@app.command("assess")
def assess(institution_id: int = typer.Argument(..., help="机构编号"),
           kind: str = typer.Option(..., help="security 安全评估 | authorization 授权评估"),
           passed: bool = typer.Option(..., "--passed/--failed", help="评估是否通过"),
           note: str = typer.Option("", help="评估说明")) -> None:
    """Record a security or authorization assessment."""
    from fincredit.institutions import service

    try:
        with session_scope() as session:
            service.record_assessment(session, institution_id, kind=kind, passed=passed, note=note,
                                      actor=cli_actor())
    except DomainError as exc:
        fail(exc.message)
    label = service.ASSESSMENT_LABELS[kind]
    out.print(f"机构 {institution_id} 的{label}：{'通过' if passed else '未通过'}", highlight=False)


@app.command("status")
def status(institution_id: int = typer.Argument(..., help="机构编号"),
           new_status: str = typer.Argument(..., metavar="STATUS", help="active | suspended | exited"),
           reason: str = typer.Option("", help="原因（暂停、退出时必填）")) -> None:
    """Activate, suspend or exit an institution."""
    from fincredit.institutions import service

    try:
        with session_scope() as session:
            service.change_status(session, institution_id, to_status=new_status, reason=reason,
                                  actor=cli_actor())
    except DomainError as exc:
        fail(exc.message)
    out.print(f"机构 {institution_id} 已变更为：{service.STATUS_LABELS[new_status]}", highlight=False)


@app.command("token")
def token(institution_id: int = typer.Argument(..., help="机构编号"),
          name: str = typer.Option("", help="令牌用途")) -> None:
    """Print a new bearer token for an active institution (and nothing else) on stdout."""
    from fincredit.institutions import service

    try:
        with session_scope() as session:
            raw, _row = service.issue_institution_token(session, institution_id, name=name or None)
    except DomainError as exc:
        fail(exc.message)
    sys.stdout.write(raw + "\n")


@app.command("list")
def list_command(status: str = typer.Option("", help="按状态筛选"),
                 kind: str = typer.Option("", help="按类型筛选")) -> None:
    """List institutions."""
    from fincredit.institutions import service

    with session_scope() as session:
        rows = service.list_institutions(session, status=status or None, kind=kind or None, limit=10_000)
        table = Table("编号", "名称", "类型", "统一社会信用代码", "状态")
        for r in rows:
            table.add_row(str(r.id), r.name, service.KIND_LABELS.get(r.kind, r.kind), r.uscc or "",
                          service.STATUS_LABELS.get(r.status, r.status))
    out.print(table)
