"""Evaluation over stored records: feature extraction per indicator kind, runs, history, incremental
re-evaluation and the command line — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fincredit.catalog.service import get_catalog
from fincredit.errors import Conflict
from fincredit.evaluation import service
from fincredit.evaluation.features import read_features
from fincredit.evaluation.models import Evaluation, EvaluationRun, GuidelineVersion
from fincredit.registry.models import Enterprise
from tests.evaluation.factories import AS_OF, add_enterprise, add_record, healthy_records, person_key, uscc


def features(session, **kwargs):  # type: ignore[no-untyped-def]
    g = service.current_guideline(session)
    frame = read_features(session.connection(), g, get_catalog(session).categories, AS_OF, **kwargs)
    return {row["uscc"]: row for row in frame.to_dicts()}


def test_latest_records_windows_and_trends(session) -> None:  # type: ignore[no-untyped-def]
    a, stale = uscc(1), uscc(2)
    add_enterprise(session, a)
    add_enterprise(session, stale)
    healthy_records(session, a)
    add_record(session, "10", stale, {"缴费年月": "2025-01", "险种类别": "企业职工基本养老保险", "参保人数": 80})
    add_record(session, "4", stale, {"评级年度": 2021, "纳税信用等级": "A"})
    add_record(session, "4", stale, {"评级年度": 2025, "纳税信用等级": "C"})
    rows = features(session)
    fa, fs = rows[a], rows[stale]
    assert fa["x_tax_paid"] == 420_000 and fa["x_tax_payment_months"] == 36
    assert fa["x_tax_trend"] == pytest.approx(420 / 350 - 1)  # against the superseded record a year earlier
    assert fa["x_insured_headcount"] == 52  # the newest month, pension insurance only
    assert fa["x_insured_headcount_trend"] == pytest.approx(52 / 50 - 1)
    assert fa["x_power_use"] == 20_000 and fa["x_power_use_trend"] == pytest.approx(0.1)  # two meters summed
    assert fa["x_tax_credit_rating"] == "A" and fa["x_housing_fund_months"] == 12
    assert fa["x_enterprise_age"] == pytest.approx((AS_OF - dt.date(2015, 3, 1)).days / 365.25)
    assert fa["has_1"] and fa["has_10"] and fa["has_14"] and not fa["has_16"]
    assert fs["x_insured_headcount"] is None and not fs["has_10"]  # older than 95 days: no evidence
    assert fs["x_tax_credit_rating"] == "C"  # the newest rating year wins


def test_counts_by_subject_legal_representative_and_validity(session) -> None:  # type: ignore[no-untyped-def]
    a, b = uscc(3), uscc(4)
    add_enterprise(session, a)
    add_enterprise(session, b)
    rep_a = person_key("rep" + a)
    add_record(session, "2", a, {"税种": "增值税", "当前是否欠税": True})
    add_record(session, "2", a, {"税种": "印花税", "当前是否欠税": False})
    add_record(session, "2", b, {"税种": "增值税", "当前是否欠税": True}, current=False)  # history only
    add_record(session, "8", rep_a, {"列入日期": "2026-02-01", "是否取消": False}, kind="person")
    add_record(session, "8", rep_a, {"列入日期": "2024-02-01", "是否取消": True}, kind="person")
    add_record(session, "37", "someone-else", {"公示截止日期": "2030-01-01"}, kind="person", person_keys=[rep_a])
    add_record(session, "36", b, {"确认严重违法失信日期": "2020-01-01", "公示截止日期": "2023-01-01"})  # expired
    add_record(session, "36", a, {"确认严重违法失信日期": "2026-01-01"})
    for day, role in (("2026-05-01", "被告"), ("2026-06-01", "原告"), ("2023-01-01", "被告"), ("2026-07-01", "被执行人")):
        add_record(session, "7", a, {"开庭日期": day, "诉讼地位": role})
    add_record(session, "18", b, {"认定证书编号": "GR1", "有效期": "2027-12-31"})
    add_record(session, "18", a, {"认定证书编号": "GR0", "有效期": "2024-12-31"})
    add_record(session, "19", b, {"等级": "市级专精特新中小企业", "有效截止日期": "2027-01-01"})
    add_record(session, "19", b, {"等级": "国家级专精特新“小巨人”企业", "有效截止日期": "2028-01-01"})
    add_record(session, "19", a, {"等级": "国家级专精特新“小巨人”企业", "有效截止日期": "2025-01-01"})
    add_record(session, "33", a, {"拖欠截止日期": "2026-03-01", "是否补缴": True})
    add_record(session, "34", a, {"拖欠截止日期": "2026-03-01"})
    rows = features(session)
    fa, fb = rows[a], rows[b]
    assert fa["x_tax_arrears"] == 1 and fb["x_tax_arrears"] is None  # a superseded arrears row is not current
    assert fa["x_legal_rep_dishonesty"] == 2  # the uncancelled 8 record and the 37 record naming the rep
    assert fa["x_serious_dishonesty"] == 1 and fb["x_serious_dishonesty"] is None  # publicity period over
    assert fa["x_hearings_as_defendant"] == 2  # defendant/enforced within two years only
    assert fb["x_high_tech"] == 1 and fa["x_high_tech"] is None  # certificate expired
    assert fb["x_specialized_sme"] == "国家级专精特新“小巨人”企业" and fa["x_specialized_sme"] is None
    assert fa["x_utility_arrears"] == 1  # the water arrears were settled, the gas arrears not
    assert fa["has_8"] and fa["has_37"] and not fb["has_36"]


def test_runs_keep_history_and_retire_deregistered(session) -> None:  # type: ignore[no-untyped-def]
    a, b, gone = uscc(5), uscc(6), uscc(7)
    for code in (a, b, gone):
        add_enterprise(session, code)
    healthy_records(session, a)
    first = service.evaluate_all(session, as_of=AS_OF, triggered_by="test")
    assert first.enterprises == 3 and first.kind == "full"
    assert sum(first.grade_counts.values()) == 3 and first.thin_files == 2
    add_record(session, "2", a, {"税种": "增值税", "当前是否欠税": True})
    session.get(Enterprise, gone).status = "注销"  # type: ignore[union-attr]
    session.flush()
    second = service.evaluate_all(session, as_of=AS_OF)
    assert second.enterprises == 2
    history = service.evaluation_history(session, a)
    assert [h["is_current"] for h in history] == [True, False]
    assert history[0]["score"] == history[1]["score"] - 70  # the new tax arrears
    assert history[0]["reasons"]["against"][0]["text"] == "存在欠税记录（扣 70 分）"
    assert service.current_evaluation(session, gone) is None  # deregistered: no current result
    assert len(service.evaluation_history(session, gone)) == 1
    total = session.scalar(select(func.count()).select_from(Evaluation))
    current = session.scalar(select(func.count()).select_from(Evaluation).where(Evaluation.is_current.is_(True)))
    assert (total, current) == (5, 2)


def test_incremental_run_touches_only_the_given_enterprises(session) -> None:  # type: ignore[no-untyped-def]
    a, b = uscc(8), uscc(9)
    add_enterprise(session, a)
    add_enterprise(session, b)
    service.evaluate_all(session, as_of=AS_OF)
    before_b = service.current_evaluation(session, b).id  # type: ignore[union-attr]
    add_record(session, "36", a, {"确认严重违法失信日期": "2026-01-01"})
    summary = service.evaluate_enterprises(session, [a.lower(), a], as_of=AS_OF)
    assert summary.kind == "incremental" and summary.enterprises == 1
    assert service.current_evaluation(session, a).grade == "CC"  # type: ignore[union-attr]
    assert service.current_evaluation(session, b).id == before_b  # type: ignore[union-attr]
    assert service.evaluate_enterprises(session, []).enterprises == 0


def test_thin_file_is_flagged_not_averaged(session) -> None:  # type: ignore[no-untyped-def]
    thin, full = uscc(10), uscc(11)
    add_enterprise(session, thin)
    add_enterprise(session, full)
    healthy_records(session, full)
    service.evaluate_all(session, as_of=AS_OF)
    view = service.evaluation_view(session, service.current_evaluation(session, thin))  # type: ignore[arg-type]
    assert view["thin_file"] and view["grade_note"] == "数据不足"
    assert view["coverage"]["categories_with_data"] == ["base"]
    assert view["coverage"]["key_categories_with_data"] == []
    texts = [r["text"] for r in view["reasons"]["against"]]
    assert texts[0] == "无纳税信息（扣 49 分）"  # conservative missing points, reported as such
    other = service.evaluation_view(session, service.current_evaluation(session, full))  # type: ignore[arg-type]
    assert not other["thin_file"] and other["score"] > view["score"] + 150


def test_guideline_versions_are_kept_and_guarded(session) -> None:  # type: ignore[no-untyped-def]
    add_enterprise(session, uscc(12))
    g = service.current_guideline(session)
    service.evaluate_all(session, as_of=AS_OF)
    row = session.get(GuidelineVersion, g.version)
    assert row is not None and row.content_hash == g.content_hash()
    assert session.scalar(select(EvaluationRun.guideline_version)) == g.version
    row.content_hash = "0" * 64  # as if the YAML changed without a new version
    session.flush()
    with pytest.raises(Conflict) as info:
        service.evaluate_all(session, as_of=AS_OF)
    assert info.value.code == "guideline_changed_without_version"


def test_evaluate_command_prints_a_summary(db) -> None:  # type: ignore[no-untyped-def]
    from fincredit.cli import app
    from fincredit.db import session_scope

    with session_scope() as s:
        add_enterprise(s, uscc(13))
        healthy_records(s, uscc(13))
        add_enterprise(s, uscc(14))
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "已评价 2 家企业" in result.output and "薄档案（数据不足）1 家" in result.output
    again = runner.invoke(app, ["evaluate", "--uscc", uscc(13), "--as-of", AS_OF.isoformat(), "--json"])
    assert again.exit_code == 0 and '"enterprises": 1' in again.output
    third = runner.invoke(app, ["evaluate", "--as-of", AS_OF.isoformat()])  # retires the earlier results
    assert third.exit_code == 0, third.output
    with session_scope() as s:
        rows = s.execute(select(Evaluation.uscc, Evaluation.is_current)).all()
    assert len(rows) == 5 and sorted(u for u, current in rows if current) == [uscc(13), uscc(14)]
    bad = runner.invoke(app, ["evaluate", "--as-of", "31/10/2026"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
