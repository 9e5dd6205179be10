"""Print a report's HTML to PDF with the system's headless Chromium (no Python dependency): the HTML is
written to a temporary file and Chromium prints it, A4, without its own header and footer."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fincredit.errors import DomainError

TIMEOUT_SECONDS = 120


class ReportRenderError(DomainError):
    status_code = 503
    code = "report_renderer_unavailable"


def chromium_path() -> str | None:
    """``$FINCREDIT_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on the PATH."""
    configured = os.environ.get("FINCREDIT_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, timeout: float = TIMEOUT_SECONDS) -> bytes:
    browser = chromium_path()
    if browser is None:
        raise ReportRenderError("未找到 Chromium 浏览器，无法生成 PDF 通报；请安装 chromium（scripts/setup --system）"
                                "或设置 FINCREDIT_CHROMIUM，也可改为生成 HTML 格式", code="chromium_missing")
    with tempfile.TemporaryDirectory(prefix="fincredit-report-") as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--no-pdf-header-footer", f"--user-data-dir={Path(tmp) / 'profile'}",
                   f"--print-to-pdf={target}", source.as_uri()]
        try:
            result = subprocess.run(command, capture_output=True, timeout=timeout, check=False,  # noqa: S603
                                    env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise ReportRenderError(f"Chromium 在 {timeout:.0f} 秒内未能生成 PDF 通报", code="report_timeout") from None
        if not target.exists() or target.stat().st_size == 0:
            tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ReportRenderError("Chromium 未能生成 PDF 通报：" + (" ".join(tail) or f"退出码 {result.returncode}"),
                                    code="report_render_failed")
        return target.read_bytes()
