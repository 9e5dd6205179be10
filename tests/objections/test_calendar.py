"""Working days and the §14 forwarding deadline, on the pure calendar (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from fincredit.objections.calendar import (
    SHANGHAI,
    ScheduleInvalid,
    WorkingCalendar,
    YearSchedule,
    package_years,
    parse_schedule,
)

D = dt.date


def at(text: str) -> dt.datetime:
    """A Shanghai wall-clock time, e.g. ``at("2026-09-30 10:00")``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def schedule_2027(**extra: object) -> YearSchedule:
    """A made-up 2027 schedule: New Year 1–3 Jan, and a make-up working Saturday 9 Jan."""
    return parse_schedule(2027, {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
                                 "workdays": ["2027-01-09"], "source": "测试用安排", **extra}).to_year_schedule()


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_installed_package_covers_2004_to_2026():
    # The year-after-the-data cases below use 2027; revisit them when chinesecalendar adds 2027.
    assert package_years() == (2004, 2026)


def test_statutory_holidays_weekends_and_make_up_days(cal):
    assert cal.is_working_day(D(2026, 9, 30))  # Wednesday
    assert not cal.is_working_day(D(2026, 10, 1))  # National Day, Thursday
    assert not cal.is_working_day(D(2026, 10, 3))  # Saturday inside the holiday
    assert cal.is_working_day(D(2026, 10, 10))  # make-up working Saturday
    assert cal.is_working_day(D(2026, 9, 20))  # make-up working Sunday
    assert not cal.is_working_day(D(2026, 10, 11))  # ordinary Sunday
    assert not cal.is_working_day(D(2026, 2, 16))  # Spring Festival, Monday
    assert cal.is_working_day(D(2026, 2, 14))  # make-up working Saturday before Spring Festival
    assert cal.source_for(2026) == "package"
    assert cal.source_for(2027) == "weekends_only"


def test_filed_on_30_september_2026_is_forwarded_by_9_october(cal):
    result = cal.forward_deadline(at("2026-09-30 10:00"))
    assert result.start_date == D(2026, 9, 30)
    assert result.deadline_date == D(2026, 10, 9)  # 1–7 Oct rest; 8 Oct is day 1, 9 Oct day 2
    assert result.deadline == dt.datetime(2026, 10, 9, 23, 59, 59, tzinfo=SHANGHAI)
    assert result.calendar_basis == "official"
    assert result.warnings == ()


def test_filed_on_30_september_after_hours_counts_from_8_october(cal):
    result = cal.forward_deadline(at("2026-09-30 17:00"))
    assert result.start_date == D(2026, 10, 8)
    assert result.deadline_date == D(2026, 10, 10)  # the make-up Saturday is day 2


def test_filed_on_the_make_up_saturday_counts_that_day(cal):
    result = cal.forward_deadline(at("2026-10-10 09:30"))
    assert result.start_date == D(2026, 10, 10)
    assert result.deadline_date == D(2026, 10, 13)  # Sunday rests: Mon 12 is day 1, Tue 13 day 2


def test_filed_during_national_day_counts_from_the_first_working_day(cal):
    result = cal.forward_deadline(at("2026-10-03 11:00"))
    assert result.start_date == D(2026, 10, 8)
    assert result.deadline_date == D(2026, 10, 10)


def test_spring_festival_2026(cal):
    before = cal.forward_deadline(at("2026-02-13 16:59"))  # Friday, before 17:00
    assert (before.start_date, before.deadline_date) == (D(2026, 2, 13), D(2026, 2, 24))
    after = cal.forward_deadline(at("2026-02-13 17:30"))  # received on the make-up Saturday
    assert (after.start_date, after.deadline_date) == (D(2026, 2, 14), D(2026, 2, 25))
    during = cal.forward_deadline(at("2026-02-18 10:00"))
    assert (during.start_date, during.deadline_date) == (D(2026, 2, 24), D(2026, 2, 26))
    # 14 Feb and 28 Feb are make-up Saturdays; 24–27 Feb are ordinary working days.
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 28)) == 6


def test_friday_after_17_00_counts_from_monday(cal):
    result = cal.forward_deadline(at("2026-03-06 18:15"))
    assert result.start_date == D(2026, 3, 9)
    assert result.deadline_date == D(2026, 3, 11)
    on_time = cal.forward_deadline(at("2026-03-06 16:59:59"))
    assert on_time.deadline_date == D(2026, 3, 10)


def test_utc_input_is_judged_by_shanghai_local_time(cal):
    # 09:30 UTC on Friday is 17:30 in Shanghai: after hours.
    result = cal.forward_deadline(dt.datetime(2026, 3, 6, 9, 30, tzinfo=dt.UTC))
    assert result.filed_at == at("2026-03-06 17:30")
    assert result.start_date == D(2026, 3, 9)


def test_naive_datetimes_are_refused(cal):
    with pytest.raises(ValueError, match="naive"):
        cal.forward_deadline(dt.datetime(2026, 9, 30, 10, 0))
    with pytest.raises(ValueError):
        cal.is_working_day(dt.datetime(2026, 9, 30, 10, 0))


def test_end_of_2026_without_a_2027_schedule_uses_weekends_and_says_so(cal):
    result = cal.forward_deadline(at("2026-12-31 10:00"))
    assert result.start_date == D(2026, 12, 31)
    assert result.deadline_date == D(2027, 1, 4)  # Fri 1 Jan counted as a working day
    assert result.calendar_basis == "weekends_only"
    assert result.years_without_data == (2027,)
    assert len(result.warnings) == 1 and "2027年" in result.warnings[0] and "仅按周末" in result.warnings[0]
    assert result.to_dict()["calendar_basis"] == "weekends_only"


def test_a_loaded_2027_schedule_moves_the_deadline_and_makes_it_official():
    cal = WorkingCalendar({2027: schedule_2027()})
    result = cal.forward_deadline(at("2026-12-31 10:00"))
    assert result.deadline_date == D(2027, 1, 5)  # 1–3 Jan rest: Mon 4 is day 1, Tue 5 day 2
    assert result.calendar_basis == "official"
    assert result.warnings == ()
    assert cal.source_for(2027) == "loaded"
    assert cal.is_working_day(D(2027, 1, 9))  # the loaded make-up Saturday


def test_a_2027_filing_with_and_without_a_schedule():
    friday = at("2027-01-08 10:00")
    plain = WorkingCalendar().forward_deadline(friday)
    assert plain.deadline_date == D(2027, 1, 12)
    assert plain.calendar_basis == "weekends_only"
    loaded = WorkingCalendar({2027: schedule_2027()}).forward_deadline(friday)
    assert loaded.deadline_date == D(2027, 1, 11)  # Saturday 9 Jan is a make-up working day
    assert loaded.calendar_basis == "official"


def test_a_loaded_schedule_replaces_the_package_for_its_year():
    only_new_year = parse_schedule(2026, {"holidays": ["2026-01-01"], "source": "更正"}).to_year_schedule()
    cal = WorkingCalendar({2026: only_new_year})
    assert cal.is_working_day(D(2026, 10, 1))
    assert not cal.is_working_day(D(2026, 10, 10))  # the package's make-up Saturday no longer applies


def test_working_days_between(cal):
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2
    assert cal.working_days_between(D(2026, 10, 9), D(2026, 9, 30)) == -2
    assert cal.working_days_between(D(2026, 10, 9), D(2026, 10, 9)) == 0
    result = cal.forward_deadline(at("2026-02-13 10:00"))
    assert cal.working_days_between(result.start_date, result.deadline_date) == 2


def test_add_working_days_other_counts(cal):
    assert cal.add_working_days(at("2026-09-30 10:00"), 0).deadline_date == D(2026, 9, 30)
    assert cal.add_working_days(at("2026-09-30 10:00"), 5).deadline_date == D(2026, 10, 13)
    with pytest.raises(ValueError):
        cal.add_working_days(at("2026-09-30 10:00"), -1)


def test_overdue_is_judged_by_the_local_date(cal):
    result = cal.forward_deadline(at("2026-09-30 10:00"))
    assert not result.is_overdue(at("2026-10-09 23:59:59"))
    assert result.is_overdue(at("2026-10-10 00:00"))


def test_years_without_data(cal):
    assert cal.years_without_data([2003, 2004, 2026, 2027, 2027]) == [2003, 2027]
    assert WorkingCalendar({2027: schedule_2027()}).years_without_data([2026, 2027]) == []


# --- schedule validation -----------------------------------------------------------------------


def problems_of(year: int, body: object) -> list[tuple[str, str]]:
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(year, body)
    return info.value.problems


def test_a_valid_schedule_is_normalised():
    parsed = parse_schedule(2027, {"holidays": ["2027-01-03", "2027-01-01"], "workdays": [],
                                   "source": " 通知 ", "note": ""})
    assert parsed.holidays == (D(2027, 1, 1), D(2027, 1, 3))
    assert parsed.source == "通知"
    assert parsed.note is None


@pytest.mark.parametrize(("body", "field", "needle"), [
    ({"holidays": ["2026-12-31"], "source": "s"}, "holidays[0]", "不在 2027 年内"),
    ({"holidays": ["2027-1-1"], "source": "s"}, "holidays[0]", "YYYY-MM-DD"),
    ({"holidays": ["2027-02-30"], "source": "s"}, "holidays[0]", "日期不存在"),
    ({"holidays": [20270101], "source": "s"}, "holidays[0]", "YYYY-MM-DD"),
    ({"holidays": ["2027-01-01", "2027-01-01"], "source": "s"}, "holidays[1]", "重复"),
    ({"holidays": [], "source": "s"}, "holidays", "至少需要一个"),
    ({"source": "s"}, "holidays", "缺少"),
    ({"holidays": "2027-01-01", "source": "s"}, "holidays", "列表"),
    ({"holidays": ["2027-01-01"], "workdays": ["2027-01-06"], "source": "s"}, "workdays", "周六或周日"),
    ({"holidays": ["2027-01-02"], "workdays": ["2027-01-02"], "source": "s"}, "workdays", "同时出现"),
    ({"holidays": ["2027-01-01"]}, "source", "来源"),
    ({"holidays": ["2027-01-01"], "source": 3}, "source", "来源"),
    ({"holidays": ["2027-01-01"], "source": "s", "note": 1}, "note", "字符串"),
    ({"holidays": ["2027-01-01"], "source": "s", "extra": 1}, "extra", "未知字段"),
])
def test_bad_schedules_are_refused_with_every_problem(body, field, needle):
    problems = problems_of(2027, body)
    assert any(f == field and needle in m for f, m in problems), problems


def test_all_problems_are_listed_together():
    problems = problems_of(2027, {"holidays": ["2026-01-01", "x"], "workdays": ["2027-01-06"]})
    assert {f for f, _ in problems} == {"holidays[0]", "holidays[1]", "workdays", "source"}


def test_holidays_on_weekdays_and_weekends_are_both_fine():
    parse_schedule(2027, {"holidays": ["2027-01-01", "2027-01-02"], "source": "s"})  # Fri, Sat


@pytest.mark.parametrize("year", [1999, 2101])
def test_year_range(year):
    assert problems_of(year, {"holidays": [f"{year}-01-01"], "source": "s"})[0][0] == "year"


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_the_body_must_be_an_object(body):
    assert "JSON 对象" in problems_of(2027, body)[0][1]
