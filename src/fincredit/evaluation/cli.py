"""``fincredit evaluate``: the basic evaluation of every registered enterprise, and the guideline.

``fincredit evaluate`` evaluates every enterprise 存续/在业 with the current guideline and prints a
summary (count, grade distribution, thin files, seconds); ``--uscc X`` (repeatable) re-evaluates
only those. ``fincredit evaluate guideline-doc --out docs/guideline.md`` writes the published
guideline from ``guideline.yaml``; ``fincredit evaluate runs`` lists recent runs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fincredit.cli_support import fail

app = typer.Typer(help="基础性信用评价与评价指引", invoke_without_command=True)
out = Console()
err = Console(stderr=True)


@app.callback()
def evaluate(
    ctx: typer.Context,
    uscc: list[str] = typer.Option(None, "--uscc", help="only these enterprises (repeatable)"),
    as_of: str = typer.Option(None, "--as-of", help="evaluation date YYYY-MM-DD (default: today, Asia/Shanghai)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON on stdout"),
) -> None:
    """Evaluate every registered enterprise with the current guideline (or only --uscc ones)."""
    if ctx.invoked_subcommand is not None:
        return
    from fincredit.db import session_scope
    from fincredit.errors import DomainError
    from fincredit.evaluation import service

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"评价日期格式应为 YYYY-MM-DD：{as_of}")
    columns = (TextColumn("[bold]信用评价[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as bar, session_scope() as session:
            g = service.current_guideline(session)
            task = bar.add_task("读取企业", total=len(g.categories()) + 2)

            def tick(label: str) -> None:
                bar.update(task, advance=1, description={"base": "企业总体", "score": "计分定级",
                                                         "write": "写入结果"}.get(label, f"信息类 {label}"))

            if uscc:
                summary = service.evaluate_enterprises(session, uscc, as_of=day, triggered_by="cli", progress=tick)
            else:
                summary = service.evaluate_all(session, as_of=day, triggered_by="cli", progress=tick,
                                               snapshot_reads=True)
    except DomainError as exc:
        fail(exc.message)
    if as_json:
        out.print_json(json.dumps({"run_id": summary.run_id, "kind": summary.kind, "enterprises": summary.enterprises,
                                   "grades": summary.grade_counts, "thin_files": summary.thin_files,
                                   "guideline_version": summary.guideline_version,
                                   "seconds": summary.seconds, "timings": summary.timings}, ensure_ascii=False))
        return
    table = Table(title=f"评价结果（指引 {summary.guideline_version}，评价日 {summary.as_of}）")
    table.add_column("等级")
    table.add_column("企业数", justify="right")
    table.add_column("占比", justify="right")
    for grade, count in summary.grade_counts.items():
        share = count / summary.enterprises if summary.enterprises else 0
        table.add_row(grade, f"{count:,}", f"{share:.1%}")
    err.print(table)
    err.print(f"已评价 {summary.enterprises:,} 家企业，其中薄档案（数据不足）{summary.thin_files:,} 家；"
              f"用时 {summary.seconds:.1f} 秒（运行 #{summary.run_id}）", highlight=False)


@app.command("guideline-doc")
def guideline_doc(out_path: Path = typer.Option(Path("docs/guideline.md"), "--out", help="where to write")) -> None:
    """Write the published guideline (Chinese Markdown) generated from guideline.yaml."""
    from fincredit.errors import DomainError
    from fincredit.evaluation.guideline import load_guideline
    from fincredit.evaluation.guideline_doc import to_markdown

    try:
        text = to_markdown(load_guideline())
    except DomainError as exc:
        fail(exc.message)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    err.print(f"已写入 {out_path}", highlight=False)


@app.command("runs")
def runs(limit: int = typer.Option(10, min=1, max=1000)) -> None:
    """List recent evaluation runs."""
    from fincredit.db import session_scope
    from fincredit.evaluation import service

    with session_scope() as session:
        rows = service.list_runs(session, limit)
    out.print_json(json.dumps(rows, ensure_ascii=False))
