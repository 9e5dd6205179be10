"""The periodic report (通报): its numbers equal the statistics API's, as HTML and as the PDF a reader gets
(checked by rasterising page 1 and extracting the text with poppler), it is reproducible, and bad input
is refused clearly."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.helpers import auth, error_code
from tests.statistics.world import LAST_MONTH, THIS_MONTH, TODAY, World, build_world

URL = "/api/v1/statistics"
PERIOD = THIS_MONTH.strftime("%Y-%m")
# (figure, column, label as printed, kind) — what a reader compares with the API's figures.
HEADLINE = [
    ("registrations", "accounts_created", "期间新增注册企业数", "int"),
    ("registrations", "accounts_cumulative", "累计注册企业数", "int"),
    ("registrations", "registered_share", "注册企业占存续企业比例", "share"),
    ("authorizations", "granted", "期间新增授权数", "int"), ("authorizations", "revoked", "期间撤销授权数", "int"),
    ("authorizations", "uses", "期间授权使用次数", "int"), ("disclosures", "disclosures", "期间查询次数", "int"),
    ("loans", "loans_granted", "期间放款笔数", "int"), ("loans", "amount_wan", "期间放款金额（万元）", "wan"),
    ("loans", "first_loans", "期间首贷笔数", "int"), ("loans", "balance_wan", "期末贷款余额（万元）", "wan"),
    ("loans", "credit_balance_wan", "期末信用贷款余额（万元）", "wan"),
    ("loans", "credit_balance_share", "信用贷款余额占比", "share"), ("loans", "overdue_rate", "逾期率", "share"),
    ("loans", "default_rate", "违约率", "share"), ("objections", "received", "期间受理异议数", "int"),
    ("objections", "forwarded_within_deadline_share", "2个工作日内转送比例", "share"),
    ("collection", "batches", "期间批次数", "int"), ("collection", "rejection_rate", "拒收率", "share"),
]


@pytest.fixture
def world(db: str) -> World:
    return build_world()


def printed(value, kind: str) -> str:  # type: ignore[no-untyped-def]
    if value is None:
        return "—"
    if kind == "share":
        return f"{value * 100:.2f}%"
    return f"{value:,.2f}" if kind == "wan" else f"{value:,}"


def api_totals(client, token: str, period: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    out = {}
    for figure in {f for f, *_ in HEADLINE}:
        response = client.get(f"{URL}/{figure}", params={"period": period}, headers=auth(token))
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        out[figure] = rows[0] if rows else {}
    return out


def expected(totals: dict[str, dict]) -> dict[str, str]:
    return {label: printed(totals[figure].get(column, None if kind == "share" else 0), kind)
            for figure, column, label, kind in HEADLINE}


def html_headline(document: str) -> dict[str, list[str]]:
    """Label → the cells after it, from the rows of the first table (the headline figures)."""
    table = document.split("<table>", 2)[1]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) >= 3:
            out[cells[1]] = cells[2:]
    return out


def test_html_report_numbers_equal_the_api(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{URL}/report", params={"period": PERIOD, "format": "html"}, headers=auth(admin_token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    document = response.text
    assert f"{THIS_MONTH.year}年{THIS_MONTH.month}月" in document and "运行情况通报" in document
    cells = html_headline(document)
    for label, value in expected(api_totals(client, admin_token, PERIOD)).items():
        assert cells[label][0] == value, label
    previous = expected(api_totals(client, admin_token, LAST_MONTH.strftime("%Y-%m")))
    for label, value in previous.items():
        assert cells[label][1] == value, label
    # Charts are inline SVG; nothing is loaded from elsewhere and no script runs.
    assert document.count("<svg") >= 4 and "<script" not in document
    assert not re.search(r'(src|href)="(https?:)?//', document)
    # The cities present in the world are ranked, and targets are broken down per city.
    assert "南京市" in document and "无锡市" in document
    # Same data, same document.
    again = client.get(f"{URL}/report", params={"period": PERIOD, "format": "html"}, headers=auth(admin_token))
    assert again.text == document


def pdf_lines(pdf: Path) -> list[list[str]]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    return [line.split() for line in text.splitlines()]


def test_pdf_renders_and_its_numbers_equal_the_api(client, admin_token, world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fincredit.cli import app

    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(app, ["report", "--period", PERIOD, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    image = Image.open(pages[0]).convert("L")
    assert image.width > 300 and image.height > 400
    low, high = image.getextrema()
    assert high - low > 100, "page 1 is blank"
    dark = sum(1 for px in image.getdata() if px < 128)
    assert dark > 0.005 * image.width * image.height, "page 1 has almost no text"

    lines = pdf_lines(out)
    assert any("运行情况通报" in "".join(line) for line in lines)
    for label, value in expected(api_totals(client, admin_token, PERIOD)).items():
        row = next((line for line in lines if label in line), None)
        assert row is not None, f"{label} not in the PDF"
        assert row[row.index(label) + 1] == value, label


def test_report_as_html_from_the_command_line(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fincredit.cli import app

    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--period", LAST_MONTH.strftime("%Y-%m"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "较上期主要变化" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("period", "message"), [
    (f"{TODAY.year + 1}-01", "统计期间不能在未来"), ("2026-13", "统计期间格式错误"), ("2026/10", "统计期间格式错误"),
    ("2026-10-01", "统计期间格式错误"),
])
def test_bad_period_from_the_command_line(db, tmp_path, period, message) -> None:  # type: ignore[no-untyped-def]
    from fincredit.cli import app

    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(app, ["report", "--period", period, "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.output and not out.exists()


def test_bad_period_and_missing_chromium_over_the_api(client, admin_token, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    future = (TODAY.replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    r = client.get(f"{URL}/report", params={"period": future}, headers=auth(admin_token))
    assert r.status_code == 422 and error_code(r) == "period_in_future"
    r = client.get(f"{URL}/report", params={"period": "10-2026"}, headers=auth(admin_token))
    assert r.status_code == 422 and error_code(r) == "bad_period"
    monkeypatch.setenv("FINCREDIT_CHROMIUM", "/nonexistent/chromium")
    r = client.get(f"{URL}/report", params={"period": PERIOD}, headers=auth(admin_token))
    assert r.status_code == 503 and error_code(r) == "chromium_missing"
    assert "Chromium" in r.json()["error"]["message"]
