"""The financing journey in headless Chromium: a bank publishes a product, the public sees it listed,
an enterprise posts a need, reads the match reasons and applies; the bank approves and reports the
loan; the enterprise sees the decision. Asserts what each person sees, in Chinese."""

from __future__ import annotations

import pytest

from fincredit.db import session_scope
from fincredit.registry import accounts
from tests.web.conftest import screenshot
from tests.web.test_browser import login_institution
from tests.web.world import PASSWORD, World

pytestmark = pytest.mark.browser


def _nav(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()


def test_need_match_apply_approve_and_loan(browser, live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    bank = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
                               viewport={"width": 1280, "height": 900})
    bank_page = bank.new_page()
    login_institution(bank_page, world.bank_token)
    _nav(bank_page, "金融产品")
    bank_page.get_by_role("link", name="发布金融产品").click()
    bank_page.get_by_label("产品名称").fill("苏信贷·小微信用贷")
    bank_page.get_by_label("产品类型").select_option(label="信用贷款")
    bank_page.get_by_label("最低金额（万元）").fill("50")
    bank_page.get_by_label("最高金额（万元）").fill("500")
    bank_page.get_by_label("最短期限（月）").fill("6")
    bank_page.get_by_label("最长期限（月）").fill("36")
    bank_page.get_by_label("最低年利率（%）").fill("3.45")
    bank_page.get_by_label("最高年利率（%）").fill("4.8")
    bank_page.get_by_label("风险补偿基金（可选）").select_option(label="苏信贷")
    bank_page.get_by_role("button", name="发布产品").click()
    error = bank_page.locator("#f-sharing_ratio-error")  # a fund needs its sharing ratio
    assert "分担比例" in error.inner_text()
    assert bank_page.get_by_label("产品名称").input_value() == "苏信贷·小微信用贷"
    bank_page.get_by_label("风险分担比例（%）").fill("50")
    bank_page.get_by_label("第 1 条：指标").select_option(label="信用评价等级")
    bank_page.get_by_label("条件").first.select_option(label="不低于")
    bank_page.get_by_label("取值").first.fill("C")
    bank_page.get_by_role("button", name="发布产品").click()
    assert "已发布金融产品：苏信贷·小微信用贷" in bank_page.get_by_role("status").first.inner_text()
    assert "信用评价等级不低于C" in bank_page.get_by_role("table").inner_text()

    visitor = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    public = visitor.new_page()
    public.goto("/")
    _nav(public, "金融产品")
    listing = public.get_by_role("table").inner_text()
    assert "苏信贷·小微信用贷" in listing and world.bank_name in listing and "50.00–500.00" in listing
    screenshot(public, "products.png")
    visitor.close()

    with session_scope() as s:
        accounts.register(s, uscc=world.main.uscc, legal_representative_name=world.main.rep_name,
                          legal_representative_id=world.main.rep_id, password=PASSWORD)
    page.goto("/login/enterprise")
    page.get_by_label("统一社会信用代码").fill(world.main.uscc)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/enterprise")
    _nav(page, "融资需求")
    page.get_by_label("融资金额（万元）").fill("300")
    page.get_by_role("button", name="发布需求并查看匹配产品").click()
    assert page.locator("#f-term_months-error").inner_text() == "请填写融资期限"
    assert page.get_by_label("融资金额（万元）").input_value() == "300"
    page.get_by_label("融资期限（月）").fill("12")
    page.get_by_label("资金用途").fill("采购原材料")
    page.get_by_role("button", name="发布需求并查看匹配产品").click()
    page.wait_for_url("**/enterprise/financing/needs/*")
    eligible = page.locator("section", has=page.get_by_role("heading", name="符合准入条件的产品（1 个）"))
    reasons = eligible.inner_text()
    assert "苏信贷·小微信用贷" in reasons and "需求金额 300 万元，产品额度 50–500 万元" in reasons
    assert "要求信用评价等级不低于C" in reasons
    screenshot(page, "enterprise-financing.png")
    page.get_by_role("link", name="申请苏信贷·小微信用贷").click()
    letter = page.get_by_role("document", name="授权书全文").inner_text()
    assert "企业信用信息授权书" in letter and world.bank_name in letter and "贷前审查" in letter
    page.get_by_role("button", name="同意授权并提交申请").click()
    assert page.locator("#f-consent-error").inner_text() == "请先阅读授权书并勾选同意"
    page.get_by_label("本企业已阅读并同意上述授权书，申请该产品").check()
    page.get_by_role("button", name="同意授权并提交申请").click()
    assert "申请已提交" in page.get_by_role("status").first.inner_text()
    assert "已申请：已提交，待机构审批" in page.inner_text("main")

    _nav(bank_page, "融资申请")
    row = bank_page.get_by_role("row").filter(has_text=world.main.name)
    assert "300.00 万元 · 12 个月" in row.inner_text() and "已提交，待机构审批" in row.inner_text()
    row.get_by_role("button", name="不予通过").click()
    assert "拒绝申请须说明理由" in bank_page.locator(".field-error").inner_text()
    bank_page.get_by_role("row").filter(has_text=world.main.name).get_by_label("审批意见（不予通过时必填）").fill(
        "经审查符合准入条件")
    bank_page.get_by_role("row").filter(has_text=world.main.name).get_by_role("button", name="审批通过").click()
    bank_page.wait_for_url("**/institution/loans?application=*")
    assert "已审批通过" in bank_page.get_by_role("status").first.inner_text()
    assert bank_page.get_by_label("借款企业统一社会信用代码").input_value() == world.main.uscc
    assert bank_page.get_by_label("贷款金额（万元）").input_value() == "300"
    bank_page.get_by_label("是否首贷").select_option(label="是（企业首次获得贷款）")
    bank_page.get_by_role("button", name="报送放款").click()
    bank_page.wait_for_url("**/institution/loans/*")
    assert "贷款已报送并记入防篡改账本" in bank_page.get_by_role("status").first.inner_text()
    bank_page.get_by_label("事件类型").select_option(label="还款")
    bank_page.get_by_label("金额（万元）").fill("50")
    bank_page.get_by_role("button", name="报送事件").click()
    assert "已报送还款" in bank_page.get_by_role("status").first.inner_text()
    assert "250.00" in bank_page.locator(".stats").inner_text()
    _nav(bank_page, "贷款反馈")
    assert world.main.name in bank_page.get_by_role("table").inner_text()
    screenshot(bank_page, "institution-loans.png")
    bank.close()

    page.goto("/enterprise/financing")
    applications = page.locator("section", has=page.get_by_role("heading", name="我的融资申请")).inner_text()
    assert "审批通过" in applications and "经审查符合准入条件" in applications
