"""``fincredit objection``: the operator's queue, forwarding and escalation from the command line."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fincredit.cli_support import cli_actor, fail
from fincredit.db import session_scope, utcnow
from fincredit.errors import DomainError

app = typer.Typer(help="异议申诉：队列、转交省级节点、逾期升级", no_args_is_help=True)
out = Console()


@app.command("list")
def list_queue(status: str = typer.Option("open", help="open、filed、forwarded、resolved、all"),
               as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
    """The objection queue, ordered by forwarding deadline, with overdue flags."""
    from fincredit.objections import service

    try:
        with session_scope() as session:
            now = utcnow()
            rows, total = service.queue(session, status, 500, 0)
            items = [service.objection_dict(session, o, now, operator=True) for o in rows]
    except DomainError as exc:
        fail(exc.message)
    if as_json:
        out.print_json(data={"items": items, "total": total})
        return
    table = Table("编号", "企业", "信息类", "状态", "转交期限", "逾期", "已升级")
    for i in items:
        table.add_row(str(i["id"]), i["uscc"], i["category"], i["status_label"], i["forward_deadline"] or "",
                      "是" if i["overdue"] else "", "是" if i["escalated"] else "")
    out.print(table)
    out.print(f"共 {total} 项", highlight=False)


@app.command("forward")
def forward(objection_id: int = typer.Argument(..., help="异议编号")) -> None:
    """Forward an objection to the provincial node."""
    from fincredit.objections import service

    try:
        with session_scope() as session:
            obj = service.forward(session, objection_id, cli_actor())
            within = obj.forwarded_within_deadline
    except DomainError as exc:
        fail(exc.message)
    out.print(f"异议 {objection_id} 已转交省级节点（{'在期限内' if within else '已超过转交期限'}）。", highlight=False)


@app.command("escalate")
def escalate() -> None:
    """Escalate every objection not forwarded in time (what the worker does periodically)."""
    from fincredit.objections import service

    with session_scope() as session:
        escalated = service.escalate_overdue(session)
    out.print(f"已升级 {len(escalated)} 项逾期未转交的异议申诉：{', '.join(map(str, escalated)) or '无'}",
              highlight=False)
