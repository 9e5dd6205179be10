"""``fincredit report --period YYYY-MM --out FILE.pdf`` — the periodic monitoring report (通报)."""

from __future__ import annotations

from pathlib import Path

import typer

from fincredit.cli_support import err, fail


def report(period: str = typer.Option(..., "--period", help="统计月份 YYYY-MM"),
           out: Path = typer.Option(..., "--out", help="输出文件（.pdf 或 .html）"),
           format: str | None = typer.Option(None, "--format", help="pdf | html；默认按输出文件扩展名")) -> None:
    """The periodic monitoring report (通报) of one month, as PDF (printed by Chromium) or HTML."""
    from fincredit.db import session_scope
    from fincredit.errors import DomainError
    from fincredit.statistics import report as report_module
    from fincredit.statistics.report_pdf import html_to_pdf

    kind = (format or ("html" if out.suffix.lower() in (".html", ".htm") else "pdf")).lower()
    if kind not in ("pdf", "html"):
        fail(f"不支持的格式 {format}，应为 pdf 或 html", 2)
    try:
        with session_scope() as session:
            html = report_module.generate_html(session, period)
        data = html.encode("utf-8") if kind == "html" else html_to_pdf(html)
    except DomainError as exc:
        fail(exc.message)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    err.print(f"已生成 {period} 通报：{out}（{kind.upper()}，{len(data):,} 字节）")


app = typer.Typer(help="统计汇总表（按月预汇总的贷款与注册数据）", no_args_is_help=True)


@app.command("rebuild")
def rebuild() -> None:
    """Recompute the statistics aggregate from the facts (after a bulk load that bypassed the services)."""
    import time

    from fincredit.db import session_scope
    from fincredit.statistics import aggregate

    started = time.perf_counter()
    with session_scope() as session:
        rows = aggregate.rebuild(session)
    counts = "，".join(f"{name} {n:,} 行" for name, n in rows.items())
    err.print(f"统计汇总表已按事实数据重建：{counts}（用时 {time.perf_counter() - started:.1f} 秒）")


@app.command("check")
def check() -> None:
    """Compare the statistics aggregate with the facts; exit 1 when a group differs."""
    from fincredit.db import session_scope
    from fincredit.statistics import aggregate

    with session_scope() as session:
        diffs = aggregate.check(session)
    if not diffs:
        err.print("统计汇总表与事实数据一致")
        return
    for name, groups in diffs.items():
        err.print(f"{name}：{len(groups)} 个分组与事实数据不一致")
        for key, have, want in groups[:10]:
            err.print(f"  {key}: 汇总表 {have}，事实数据 {want}")
    fail("统计汇总表与事实数据不一致，请运行 fincredit statistics rebuild")
