"""Quality figures, recomputed independently from what the test sent."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fincredit.collection.quality import report
from fincredit.db import utcnow
from tests.collection import factories
from tests.helpers import auth, error_code


def test_quality_per_provider_and_category(tmp_path, provider, upload, client, admin_token, session):
    amr = provider("amr", ("base",))
    tax = provider("tax", ("1", "2"))
    base = factories.rows("base", 5)
    base[4]["登记状态"] = "注销"  # not counted among registered enterprises
    assert upload(amr, "base", factories.to_csv(base, tmp_path / "base.csv")).status_code == 201
    active = {r["统一社会信用代码"] for r in base if r["登记状态"] in ("存续", "在业")}

    batches = []
    first = factories.rows("1", 6)  # subjects 0..5: 0-3 active, 4 deregistered, 5 unknown to the base
    first[1]["近一年增值税应纳税金额(元)"] = ""
    first[2]["近一年增值税应纳税金额(元)"] = ""
    first[3]["统一社会信用代码"] = "91320100000000003X"  # bad check digit
    first[5]["最近一次正常缴税日期"] = "2024-13-01"
    batches.append(first)
    second = factories.rows("1", 2, start=20)
    second[0]["企业名称"] = "=1+1"
    second[1]["统一社会信用代码"] = "bad"
    batches.append(second)
    for i, rows in enumerate(batches):
        assert upload(tax, "1", factories.to_csv(rows, tmp_path / f"t{i}.csv")).status_code == 201
    wrong = upload(tax, "1", factories.to_csv(factories.rows("2", 1), tmp_path / "w.csv"))
    assert error_code(wrong) == "bad_headers"

    r = client.get("/api/v1/quality?provider=tax&category=1", headers=auth(admin_token))
    assert r.status_code == 200
    [row] = r.json()
    acc, comp, tim = row["accuracy"], row["completeness"], row["timeliness"]
    # accuracy
    sent = sum(len(b) for b in batches)
    assert (acc["batches"], acc["rejected_batches"], acc["rows_total"], acc["rejected"]) == (3, 2, sent, 4)
    assert acc["rejection_rate"] == round(4 / sent, 4)
    codes = Counter({"bad_uscc_check_digit": 1, "bad_date": 1, "formula_injection": 1, "bad_uscc_format": 1,
                     "bad_headers": 1, "unknown_column": 3})
    top = {x["code"]: x["count"] for x in acc["top_reasons"]}
    assert len(top) == 5 and all(codes[c] == n for c, n in top.items()), top
    assert acc["top_reasons"][0] == {"code": "unknown_column", "count": 3}
    # completeness: stored rows are first[0,1,2,4] (row 5's date is invalid) and second: none
    stored = [first[0], first[1], first[2], first[4]]
    fill = {x["field"]: x["fill_rate"] for x in comp["field_fill"]}
    assert comp["current_records"] == len(stored)
    assert fill["近一年增值税应纳税金额(元)"] == round(2 / 4, 4)
    assert fill["企业名称"] == 1.0
    expected_mean = sum(sum(1 for r in stored if r.get(f.name) not in ("", None)) / len(stored)
                        for f in factories.CATEGORIES["1"].fields) / len(factories.CATEGORIES["1"].fields)
    assert comp["mean_fill_rate"] == round(expected_mean, 4)
    covered = {r["统一社会信用代码"] for r in stored} & active
    assert (comp["enterprises_covered"], comp["registered_enterprises"]) == (len(covered), len(active))
    assert comp["coverage"] == round(len(covered) / len(active), 4)
    # timeliness: just delivered, monthly cycle
    assert tim["update_cycle_days"] == 31 and tim["late"] is False and tim["age_days"] < 1
    assert tim["next_due"] == (dt.datetime.fromisoformat(tim["newest_at"]) + dt.timedelta(days=31)).date().isoformat()

    # category 2 was assigned but never delivered, and its due date (2022-09) has passed
    [arrears] = client.get("/api/v1/quality?category=2", headers=auth(admin_token)).json()
    assert arrears["provider"] == "tax" and arrears["timeliness"]["late"] is True
    assert "尚未报送" in arrears["timeliness"]["late_reason"] and arrears["accuracy"]["rows_total"] == 0
    # 40 days later the monthly category is late
    later = report(session, provider_code="tax", category_code="1", now=utcnow() + dt.timedelta(days=40))
    assert later[0]["timeliness"]["late"] is True and later[0]["timeliness"]["age_days"] >= 40
    every = client.get("/api/v1/quality", headers=auth(admin_token)).json()
    assert {(x["provider"], x["category"]) for x in every} == {("amr", "base"), ("tax", "1"), ("tax", "2")}
    assert client.get("/api/v1/quality", headers=auth(tax)).status_code == 403
