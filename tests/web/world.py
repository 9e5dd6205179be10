"""A small province for the portal tests, built through the real services: providers deliver batch
files (collection), an institution is onboarded (institutions), an operator account is created,
and every enterprise is evaluated (evaluation)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fincredit.collection import provider_service
from fincredit.collection import service as collection
from fincredit.collection.identifiers import resident_id_check_digit, uscc_check_digit
from fincredit.db import session_scope
from fincredit.institutions import service as institutions

PASSWORD = "Jiangsu-Credit2024"
OPERATOR_PASSWORD = "Operator-Pass2024"


def uscc(serial: int) -> str:
    body = f"91320100MA{serial:07d}"
    return body + uscc_check_digit(body)


def resident_id(serial: int) -> str:
    body = f"32010219780{serial % 10}1{serial % 10}{serial % 1000:03d}"[:17]
    return body + resident_id_check_digit(body)


@dataclass
class Company:
    uscc: str
    name: str
    rep_name: str
    rep_id: str


@dataclass
class World:
    main: Company
    others: list[Company]
    bank_id: int
    bank_name: str
    bank_token: str
    operator: str
    operator_secret: str


COMPANIES = [("南京紫金山智能制造有限公司", "李建华"), ("苏州姑苏丝绸贸易有限公司", "王秀英"),
             ("无锡太湖新能源科技有限公司", "张伟"), ("常州龙城精密机械有限公司", "刘洋")]


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def deliver(provider: str, category: str, path: Path) -> None:
    with session_scope() as s:
        result = collection.ingest(s, provider_code=provider, category_code=category,
                                   upload=collection.uploaded_file(path), uploaded_by="测试")
        assert result.file_error is None, result.file_error
        assert result.batch.rejected == 0, result.batch.error_summary


def seed_world(tmp: Path) -> World:
    companies = [Company(uscc(i + 1), name, rep, resident_id(i + 1)) for i, (name, rep) in enumerate(COMPANIES)]
    main = companies[0]
    with session_scope() as s:
        for code, name, cats in (("amr", "省市场监管局", ["base"]), ("tax", "省税务局", ["1", "4"]),
                                 ("hrss", "省人力资源社会保障厅", ["10"]), ("sci", "省科技厅", ["18"])):
            provider_service.register_provider(s, code=code, name=name, categories=cats)
    base = [{"企业名称": c.name, "统一社会信用代码": c.uscc, "法定代表人姓名": c.rep_name, "法定代表人证件类型": "居民身份证",
             "法定代表人证件号码": c.rep_id, "成立日期": f"201{i}-05-0{i + 1}", "注册资本(万元)": 500 + 100 * i,
             "登记状态": "存续", "行业代码": "C3911", "住所所在地行政区划代码": "320102", "从业人数": 40 + i,
             "营业收入(万元)": 3000 + 500 * i, "登记机关": "南京市市场监督管理局"} for i, c in enumerate(companies)]
    deliver("amr", "base", _write(tmp / "base.csv", base))
    for version, (vat, cit) in enumerate(((360000, 120000), (420000, 150000))):
        tax = [{"企业名称": c.name, "统一社会信用代码": c.uscc, "近一年增值税应纳税金额(元)": vat + 1000 * i,
                "近一年增值税实际缴税金额(元)": vat + 1000 * i, "近一年企业所得税应纳税金额(元)": cit,
                "近一年企业所得税实际缴税金额(元)": cit, "连续正常缴税周期(月)": 24 + version,
                "最近一次正常缴税日期": f"2025-0{version + 1}-15"} for i, c in enumerate(companies[:3])]
        deliver("tax", "1", _write(tmp / f"tax{version}.csv", tax))
    grades = [{"企业名称": c.name, "统一社会信用代码": c.uscc, "评级年度": 2024, "纳税信用等级": "AB"[i % 2]}
              for i, c in enumerate(companies)]
    deliver("tax", "4", _write(tmp / "grade.csv", grades))
    months = [(dt.date(2024, 1, 1) + dt.timedelta(days=31 * k)).strftime("%Y-%m") for k in range(12)]
    insurance = [{"企业名称": main.name, "统一社会信用代码": main.uscc, "缴费年月": m, "险种类别": "企业职工基本养老保险",
                  "参保人数": 38 + k % 5 + k // 3, "本月实缴金额合计(元)": 52000 + 900 * k} for k, m in enumerate(months)]
    deliver("hrss", "10", _write(tmp / "insurance.csv", insurance))
    honours = [{"企业名称": main.name, "统一社会信用代码": main.uscc, "认定证书编号": "GR202332001234",
                "发证日期": "2023-11-06", "有效期": "2026-11-05", "认定机关": "江苏省科学技术厅"}]
    deliver("sci", "18", _write(tmp / "honours.csv", honours))

    from fincredit.evaluation.service import evaluate_all
    from fincredit.web.operators import create_operator

    with session_scope() as s:
        bank = institutions.create_institution(s, name="江苏银行南京分行", kind="bank", actor="测试")
        for kind in institutions.ASSESSMENT_KINDS:
            institutions.record_assessment(s, bank.id, kind=kind, passed=True, note="通过", actor="测试")
        institutions.change_status(s, bank.id, to_status="active", reason="评估通过", actor="测试")
        token, _ = institutions.issue_institution_token(s, bank.id)
        bank_id, bank_name = bank.id, bank.name
        _row, secret = create_operator(s, "zhangsan", OPERATOR_PASSWORD)
        evaluate_all(s, triggered_by="测试")
    return World(main, companies[1:], bank_id, bank_name, token, "zhangsan", secret)
