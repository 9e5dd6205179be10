"""The operator's statistics: dashboard charts (loans by city, targets, registrations trend), the
“统计与通报” page (figure as table and chart, CSV download, report generation), over HTTP and in Chromium."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict

import pytest

from tests.statistics.world import THIS_MONTH, TODAY, build_world
from tests.statistics.world import World as StatsWorld
from tests.web.clients import login_operator
from tests.web.conftest import screenshot
from tests.web.world import World

PERIOD = THIS_MONTH.strftime("%Y-%m")


@pytest.fixture
def facts(world: World) -> StatsWorld:
    return build_world()


def city_loans(facts: StatsWorld) -> dict[str, dict]:
    city = {e["uscc"]: e["city"] for e in facts.enterprises}
    out: dict[str, dict] = defaultdict(lambda: {"n": 0, "amount": 0.0, "credit": 0, "first": 0})
    for loan in facts.loans:
        x = out[city[loan["uscc"]]]
        x["n"] += 1
        x["amount"] += loan["amount"]
        x["credit"] += loan["credit"]
        x["first"] += loan["first"]
    return out


def test_dashboard_shows_loans_by_city_targets_and_trend(client, world: World, facts: StatsWorld,  # type: ignore[no-untyped-def]
                                                         admin_token) -> None:
    assert login_operator(client, world).status_code == 303
    page = client.get("/operator").text
    assert "建设中" not in page
    for heading in ("贷款投放（按设区市）", "目标任务进度", "注册企业趋势", "各数据提供单位入库合格率"):
        assert heading in page
    nanjing = city_loans(facts)["320100"]
    row = re.search(r"<tr><td>南京市</td>(.*?)</tr>", page).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells == [str(nanjing["n"]), f"{nanjing['amount']:,.2f}", f"{nanjing['credit'] / nanjing['n'] * 100:.1f}%",
                     f"{nanjing['first'] / nanjing['n'] * 100:.1f}%"]
    assert page.count('role="img"') >= 8
    overview = client.get("/api/v1/statistics/overview", headers={"Authorization": f"Bearer {admin_token}"}).json()
    accounts = overview["targets"]["registered_enterprises"]["current"]
    assert accounts >= sum(1 for e in facts.enterprises if e["account_at"])
    assert f"注册企业 {accounts:,} 家" in page


def test_statistics_page_table_chart_and_csv(client, world: World, facts: StatsWorld) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    page = client.get("/operator/statistics", params={"figure": "loans", "by": "city", "start": THIS_MONTH.isoformat()})
    assert page.status_code == 200, re.findall(r'role="alert">([^<]*)<', page.text)
    assert "贷款投放 · 按设区市" in page.text, re.findall(r'<h[12][^>]*>([^<]*)<', page.text) and 'id="chart-statistics"' in page.text
    new = [ln for ln in facts.loans if ln["on"] >= THIS_MONTH]
    response = client.get("/operator/statistics/download",
                          params={"figure": "loans", "by": "city", "start": THIS_MONTH.isoformat()})
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    col = table[0].index("期间放款金额（万元）")
    city = {e["uscc"]: e["city"] for e in facts.enterprises}
    expect: dict[str, float] = defaultdict(float)
    for loan in new:
        expect[city[loan["uscc"]]] += loan["amount"]
    got = {r[0]: float(r[col]) for r in table[1:]}
    assert {k: v for k, v in got.items() if v} == dict(expect)
    for code, amount in expect.items():
        name = "南京市" if code == "320100" else "无锡市"
        assert re.search(rf"<td>{name}</td>(<td[^>]*>[^<]*</td>)*?<td class=\"num\">{amount:,.2f}</td>", page.text)


@pytest.mark.parametrize(("params", "message"), [
    ({"period": f"{TODAY.year + 1}-01"}, "统计期间不能在未来"),
    ({"period": "2026-13"}, "统计期间格式错误"),
    ({"figure": "collection", "by": "city"}, "只能按以下维度分组"),
])
def test_statistics_page_bad_input(client, world: World, params, message) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    response = client.get("/operator/statistics", params=params)
    assert response.status_code == 422 and message in response.text


def test_report_from_the_portal(client, world: World, facts: StatsWorld) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    html = client.get("/operator/statistics/report", params={"period": PERIOD, "format": "html"})
    assert html.status_code == 200 and "运行情况通报" in html.text
    pdf = client.get("/operator/statistics/report", params={"period": PERIOD, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].endswith(f'fincredit-report-{PERIOD}.pdf"')
    bad = client.get("/operator/statistics/report", params={"period": f"{TODAY.year + 1}-01"})
    assert bad.status_code == 422 and "统计期间不能在未来" in bad.text


def test_operator_views_loans_by_city_and_downloads_the_report(page, world: World, facts: StatsWorld) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_browser import login_operator as login

    login(page, world)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计与通报").click()
    page.wait_for_url("**/operator/statistics")
    page.get_by_label("统计指标").select_option("loans")
    page.get_by_label("分组维度").select_option("city")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("heading", name=re.compile("贷款投放 · 按设区市")).wait_for()
    table = page.get_by_role("table").first.inner_text()
    assert "南京市" in table and "无锡市" in table
    assert page.locator("svg[role=img]").count() >= 1
    screenshot(page, "operator-statistics.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.get_by_label("通报月份").fill(PERIOD)
    page.get_by_label("HTML").check()
    with page.expect_download() as report:
        page.get_by_role("button", name="生成并下载通报").click()
    assert report.value.suggested_filename == f"fincredit-report-{PERIOD}.html"
    content = open(report.value.path(), encoding="utf-8").read()
    assert "运行情况通报" in content and "南京市" in content
