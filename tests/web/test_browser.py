"""Journeys through the portals in headless Chromium, asserting what a person sees (in Chinese)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from tests.web.conftest import screenshot
from tests.web.world import OPERATOR_PASSWORD, PASSWORD, World

pytestmark = pytest.mark.browser


def login_institution(page, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/institution")
    page.get_by_label("接入机构访问令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/institution")


def lookup(page, uscc: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/institution/lookup")
    page.get_by_label("企业统一社会信用代码").fill(uscc)
    page.get_by_role("button", name="查询", exact=True).click()
    page.get_by_text("本次查询已记入账本").first.wait_for()


def login_operator(page, world: World) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/operator")
    page.get_by_label("用户名").fill(world.operator)
    page.get_by_label("密码").fill(OPERATOR_PASSWORD)
    page.get_by_label("动态口令").fill(pyotp.TOTP(world.operator_secret).now())
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/operator")


def test_public_home_login_and_guideline(page, db) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "让信用成为中小微企业的“抵押物”"
    assert page.get_by_role("link", name="企业用户登录").is_visible()
    assert "江苏省融资信用服务平台" in page.locator("header").inner_text()
    screenshot(page, "public.png")
    page.keyboard.press("Tab")  # the first stop is the skip link, and it leads to the main content
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="评价指引").click()
    page.wait_for_url("**/guideline")
    assert "企业信用评价指引" in page.get_by_role("heading", level=1).inner_text()
    grades = page.get_by_role("table").filter(has_text="信用极好").inner_text()
    assert "AAA" in grades and "900" in grades
    assert page.locator("svg[role=img]").count() >= 1
    page.goto("/login/enterprise")
    assert page.get_by_label("统一社会信用代码").is_visible()
    screenshot(page, "login.png")


def test_enterprise_registers_grants_and_revokes_as_the_bank_looks_on(browser, live_server, page,  # type: ignore[no-untyped-def]
                                                                    world: World) -> None:
    bank = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    bank_page = bank.new_page()
    login_institution(bank_page, world.bank_token)
    lookup(bank_page, world.main.uscc)
    grants = bank_page.locator("section", has=bank_page.get_by_role("heading", name="该企业对本机构的授权"))
    assert "未授权" in grants.inner_text()
    evaluation = bank_page.locator("section", has=bank_page.get_by_role("heading", name="信用评价"))
    assert "未授权" in evaluation.inner_text() and "信用评分" not in evaluation.inner_text()
    assert "暂无已授权的非公开信息类" in bank_page.inner_text("main")
    assert "近一年增值税实际缴税金额区间" not in bank_page.inner_text("main")

    page.goto("/register")
    page.get_by_label("统一社会信用代码").fill(world.main.uscc)
    page.get_by_label("法定代表人姓名").fill(world.main.rep_name)
    page.get_by_label("法定代表人身份证号码").fill(world.main.rep_id)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="提交注册").click()
    page.wait_for_url("**/login/enterprise**")
    assert "实名注册成功，请登录" in page.get_by_role("status").first.inner_text()
    assert page.get_by_label("统一社会信用代码").input_value() == world.main.uscc
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/enterprise")
    assert page.get_by_role("heading", level=1).inner_text() == world.main.name

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="授权管理").click()
    page.get_by_role("link", name="新增授权").click()
    page.get_by_label("被授权的金融机构").select_option(label=f"{world.bank_name}（银行）")
    page.get_by_label("授权用途").select_option("pre_loan")
    page.get_by_label("1. 纳税信息").check()
    page.get_by_label("10. 社会保险费缴纳情况").check()
    page.get_by_label("授权到期日期").fill((dt.date.today() + dt.timedelta(days=20)).isoformat())
    page.get_by_role("button", name="下一步：预览授权书").click()
    letter = page.get_by_role("document", name="授权书全文").inner_text()
    assert "企业信用信息授权书" in letter and world.bank_name in letter and "纳税信息" in letter
    assert "贷前审查" in letter
    page.get_by_label("本企业已阅读并同意上述授权书的全部内容").check()
    page.get_by_role("button", name="确认签署授权").click()
    assert "授权已签署并生效" in page.get_by_role("status").first.inner_text()
    assert "签名有效，内容未被篡改" in page.inner_text("main")

    lookup(bank_page, world.main.uscc)
    products = bank_page.locator("section", has=bank_page.get_by_role("heading", name="已授权信息类的加工产品"))
    text = products.inner_text()
    assert "纳税信息" in text and "近一年增值税实际缴税金额区间" in text and "参保人数区间" in text
    assert "已授权" in text
    assert "信用评分" in bank_page.locator("section", has=bank_page.get_by_role("heading", name="信用评价")).inner_text()
    assert world.main.rep_name not in bank_page.inner_text("main")  # the legal representative is masked
    screenshot(bank_page, "institution.png")

    page.goto("/enterprise/disclosures")
    seen = page.get_by_role("table").inner_text()
    assert world.bank_name in seen and "下载回执" in seen
    page.goto("/enterprise")
    screenshot(page, "enterprise.png")

    page.goto("/enterprise/authorizations")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"撤销对{world.bank_name}的授权").click()
    assert "授权已撤销，即时生效" in page.get_by_role("status").first.inner_text()
    assert "已撤销" in page.get_by_role("table").inner_text()

    lookup(bank_page, world.main.uscc)
    assert "暂无已授权的非公开信息类" in bank_page.inner_text("main")
    assert "企业已撤销授权" in bank_page.inner_text("main")
    bank.close()


def test_operator_signs_in_with_totp_and_onboards_an_institution(browser, live_server, page,  # type: ignore[no-untyped-def]
                                                                 world: World) -> None:
    login_operator(page, world)
    assert page.get_by_role("heading", level=1).inner_text() == "监测看板"
    assert page.locator("svg[role=img]").count() >= 3
    assert "信用评价等级分布" in page.inner_text("main")
    screenshot(page, "operator.png")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="接入机构").click()
    page.get_by_label("机构名称").fill("南京银行鼓楼支行")
    page.get_by_label("机构类型").select_option(label="银行")
    page.get_by_role("button", name="登记（申请接入）").click()
    assert "已登记接入机构：南京银行鼓楼支行（申请接入）" in page.get_by_role("status").first.inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("变更为").select_option(label="正常接入")
    page.get_by_role("button", name="变更状态").click()
    assert "安全评估、授权评估未通过或尚未进行" in page.locator(".field-error").inner_text()

    for label in ("安全评估", "授权评估"):
        page.get_by_label("评估类型").select_option(label=label)
        page.get_by_label("评估结论").select_option(label="通过")
        page.get_by_label("评估说明").fill(f"{label}材料齐全，现场检查通过")
        page.get_by_role("button", name="记录评估结果").click()
        assert f"已记录{label}：通过" in page.get_by_role("status").first.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("变更为").select_option(label="正常接入")
    page.get_by_role("button", name="变更状态").click()
    assert "接入状态已变更为：正常接入" in page.get_by_role("status").first.inner_text()
    page.get_by_role("button", name="签发访问令牌").click()
    token = page.locator(".secret-once code").inner_text().strip()
    assert token.startswith("fci_")

    bank = browser.new_context(base_url=live_server, locale="zh-CN")
    bank_page = bank.new_page()
    login_institution(bank_page, token)
    assert bank_page.get_by_role("heading", level=1).inner_text() == "南京银行鼓楼支行"
    bank.close()


def test_bad_input_is_explained_next_to_the_field(page, world: World) -> None:  # type: ignore[no-untyped-def]
    wrong = world.main.uscc[:17] + ("0" if world.main.uscc[17] != "0" else "1")
    page.goto("/register")
    page.get_by_label("统一社会信用代码").fill(wrong)
    page.get_by_label("法定代表人姓名").fill(world.main.rep_name)
    page.get_by_role("button", name="提交注册").click()
    uscc = page.get_by_label("统一社会信用代码")
    assert "校验位错误" in page.locator("#f-uscc-error").inner_text()
    assert "f-uscc-error" in uscc.get_attribute("aria-describedby")
    assert uscc.get_attribute("aria-invalid") == "true"
    assert page.locator("#f-legal_representative_id-error").inner_text() == "请填写法定代表人身份证号码"
    assert uscc.input_value() == wrong and page.get_by_label("法定代表人姓名").input_value() == world.main.rep_name

    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'stale'")
    uscc.fill(world.main.uscc)
    page.get_by_label("法定代表人身份证号码").fill(world.main.rep_id)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="提交注册").click()
    assert page.get_by_role("alert").inner_text() == "页面已过期，请重新提交"
    assert page.get_by_label("法定代表人身份证号码").input_value() == world.main.rep_id

    login_operator(page, world)
    page.goto("/operator/upload")
    page.get_by_label("数据提供单位").select_option("tax")
    page.get_by_label("信息类").select_option("4")
    page.locator("input[type=file]").set_input_files(files=[{"name": "纳税信用等级.pdf", "mimeType": "application/pdf",
                                                         "buffer": b"%PDF-1.7"}])
    page.get_by_role("button", name="上传并入库").click()
    file_error = page.locator("#f-file-error")
    file_error.wait_for()
    assert "文件类型不支持" in file_error.inner_text()
    assert "f-file-error" in page.locator("input[type=file]").get_attribute("aria-describedby")
    assert page.get_by_label("信息类").input_value() == "4"  # the choices stay
    rows = ("企业名称,统一社会信用代码,评级年度,纳税信用等级\n"
            f"{world.main.name},{world.main.uscc},2023,A\n{world.others[0].name},{wrong},2023,B\n")
    page.locator("input[type=file]").set_input_files(files=[{"name": "纳税信用等级.csv", "mimeType": "text/csv",
                                                         "buffer": rows.encode()}])
    page.get_by_role("button", name="上传并入库").click()
    page.wait_for_url("**/operator/batches/*")
    assert "处理结果" in page.get_by_role("heading", level=1).inner_text()
    assert "部分入库" in page.inner_text("main")
    errors = page.get_by_role("table").inner_text()
    assert "统一社会信用代码" in errors and "校验位" in errors
