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
