"""Chinese working days (工作日) and make-up working days (调休) for objection deadlines.

Pure core: no FastAPI, no ORM. A ``WorkingCalendar`` combines two sources per year:

1. schedules the operator loaded from the State Council's notice (newest version of a year), and
2. the data shipped in the ``chinese_calendar`` package (chinesecalendar on PyPI).

A loaded schedule replaces the package's data for its year. A year with neither is computed
with weekends only, and every deadline that touches such a year says so (``calendar_basis``
``"weekends_only"`` and a Chinese warning). The deadline rule is documented in
``docs/working-days.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A filing at or after this local time on a working day is received the next working day.
BUSINESS_DAY_END = dt.time(17, 0)
# The deadline is the last second of the deadline's working day, local time.
DEADLINE_TIME = dt.time(23, 59, 59)
# §14: an objection is forwarded to the provincial node within 2 working days.
FORWARD_WORKING_DAYS = 2
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_WORKING_DAYS = 1000
# No real calendar has a year without working days; this bounds the scan for bad data.
_MAX_SCAN_DAYS = 800

Basis = Literal["official", "weekends_only"]
Source = Literal["loaded", "package", "weekends_only"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SCHEDULE_KEYS = {"holidays", "workdays", "source", "note"}


@dataclass(frozen=True)
class YearSchedule:
    """One year's statutory holidays (法定节假日, incl. the weekend days inside a holiday span)
    and make-up working days (调休上班的周末)."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]


@dataclass(frozen=True)
class DeadlineResult:
    """A computed deadline and the calendar it rests on."""

    filed_at: dt.datetime  # in Asia/Shanghai
    start_date: dt.date  # day 0: the working day on which the filing counts as received
    deadline_date: dt.date
    deadline: dt.datetime  # DEADLINE_TIME on deadline_date, Asia/Shanghai
    working_days: int
    calendar_basis: Basis
    years_without_data: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    def is_overdue(self, now: dt.datetime) -> bool:
        return to_local(now).date() > self.deadline_date

    def to_dict(self) -> dict[str, Any]:
        return {
            "filed_at": self.filed_at.isoformat(),
            "start_date": self.start_date.isoformat(),
            "deadline": self.deadline.isoformat(),
            "deadline_date": self.deadline_date.isoformat(),
            "working_days": self.working_days,
            "calendar_basis": self.calendar_basis,
            "years_without_data": list(self.years_without_data),
            "warnings": list(self.warnings),
        }


def to_local(moment: dt.datetime) -> dt.datetime:
    """The moment in Asia/Shanghai; naive datetimes are refused (their zone is unknowable)."""
    if not isinstance(moment, dt.datetime):
        raise TypeError("expected a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return moment.astimezone(SHANGHAI)


def _as_date(day: dt.date) -> dt.date:
    return to_local(day).date() if isinstance(day, dt.datetime) else day


def weekends_only_warning(year: int) -> str:
    return (f"{year}年的法定节假日安排尚未加载，本期限仅按周末计算，可能与法定工作日不一致；"
            f"请管理员加载国务院办公厅公布的{year}年节假日安排。")


@lru_cache(maxsize=1)
def package_schedules() -> dict[int, YearSchedule]:
    """The years covered by the installed chinese_calendar, one ``YearSchedule`` each."""
    from chinese_calendar import constants

    holidays: dict[int, set[dt.date]] = {}
    workdays: dict[int, set[dt.date]] = {}
    for day in constants.holidays:
        holidays.setdefault(day.year, set()).add(day)
    for day in constants.workdays:
        workdays.setdefault(day.year, set()).add(day)
    first, last = min(holidays), max(holidays)
    return {year: YearSchedule(year, frozenset(holidays.get(year, ())), frozenset(workdays.get(year, ())))
            for year in range(first, last + 1)}


def package_years() -> tuple[int, int]:
    """First and last year of the installed chinese_calendar data."""
    years = package_schedules()
    return min(years), max(years)


class WorkingCalendar:
    """Working days from loaded schedules, then chinese_calendar, then weekends only."""

    def __init__(self, loaded: Mapping[int, YearSchedule] | None = None, *,
                 package: Mapping[int, YearSchedule] | None = None) -> None:
        self._loaded = dict(loaded or {})
        self._package = dict(package_schedules() if package is None else package)

    def source_for(self, year: int) -> Source:
        if year in self._loaded:
            return "loaded"
        if year in self._package:
            return "package"
        return "weekends_only"

    def schedule_for(self, year: int) -> YearSchedule | None:
        return self._loaded.get(year) or self._package.get(year)

    def has_data(self, year: int) -> bool:
        return self.source_for(year) != "weekends_only"

    def years_without_data(self, years: Iterable[int]) -> list[int]:
        return sorted({y for y in years if not self.has_data(y)})

    def is_working_day(self, day: dt.date) -> bool:
        """A make-up working day works; a holiday rests; otherwise Monday–Friday work."""
        day = _as_date(day)
        schedule = self.schedule_for(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            if day in schedule.holidays:
                return False
        return day.weekday() < 5

    def next_working_day(self, day: dt.date, *, include_self: bool = False) -> dt.date:
        day = _as_date(day)
        current = day if include_self else day + dt.timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(current):
                return current
            current += dt.timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days after {day}")

    def start_date(self, moment: dt.datetime) -> dt.date:
        """Day 0: the filing day if it is a working day and before 17:00, else the next working day."""
        local = to_local(moment)
        if self.is_working_day(local.date()) and local.time() < BUSINESS_DAY_END:
            return local.date()
        return self.next_working_day(local.date())

    def add_working_days(self, moment: dt.datetime, n: int) -> DeadlineResult:
        """The end (23:59:59 Asia/Shanghai) of the n-th working day after day 0."""
        if not 0 <= n <= MAX_WORKING_DAYS:
            raise ValueError(f"n must be between 0 and {MAX_WORKING_DAYS}")
        local = to_local(moment)
        start = self.start_date(local)
        deadline_date = start
        for _ in range(n):
            deadline_date = self.next_working_day(deadline_date)
        missing = tuple(self.years_without_data(range(local.year, deadline_date.year + 1)))
        return DeadlineResult(
            filed_at=local,
            start_date=start,
            deadline_date=deadline_date,
            deadline=dt.datetime.combine(deadline_date, DEADLINE_TIME, tzinfo=SHANGHAI),
            working_days=n,
            calendar_basis="weekends_only" if missing else "official",
            years_without_data=missing,
            warnings=tuple(weekends_only_warning(y) for y in missing),
        )

    def forward_deadline(self, filed_at: dt.datetime) -> DeadlineResult:
        """When an objection filed at ``filed_at`` must reach the provincial node (§14)."""
        return self.add_working_days(filed_at, FORWARD_WORKING_DAYS)

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """Working days d with a < d <= b (negative when b is before a).

        ``working_days_between(result.start_date, result.deadline_date) == result.working_days``.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for offset in range(1, (b - a).days + 1)
                   if self.is_working_day(a + dt.timedelta(days=offset)))


# --- validating a schedule the operator loads -------------------------------------------------


class ScheduleInvalid(ValueError):
    """The schedule has problems; each is ``(field, 中文说明)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("；".join(f"{f}：{m}" if f else m for f, m in problems))


@dataclass(frozen=True)
class ParsedSchedule:
    year: int
    holidays: tuple[dt.date, ...]
    workdays: tuple[dt.date, ...]
    source: str
    note: str | None

    def to_year_schedule(self) -> YearSchedule:
        return YearSchedule(self.year, frozenset(self.holidays), frozenset(self.workdays))


def _parse_dates(year: int, name: str, value: Any, problems: list[tuple[str, str]]) -> list[dt.date]:
    if not isinstance(value, list):
        problems.append((name, "必须是日期字符串（YYYY-MM-DD）的列表"))
        return []
    if len(value) > 366:
        problems.append((name, "日期不能超过 366 个"))
        return []
    out: list[dt.date] = []
    seen: set[dt.date] = set()
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, str) or not _ISO_DATE.fullmatch(item):
            problems.append((where, f"不是 YYYY-MM-DD 格式的日期：{item!r}"[:120]))
            continue
        try:
            day = dt.date.fromisoformat(item)
        except ValueError:
            problems.append((where, f"日期不存在：{item}"))
            continue
        if day.year != year:
            problems.append((where, f"{item} 不在 {year} 年内"))
        elif day in seen:
            problems.append((where, f"{item} 重复出现"))
        else:
            seen.add(day)
            out.append(day)
    return out


def parse_schedule(year: int, body: Any) -> ParsedSchedule:
    """Validate ``{"holidays": [...], "workdays": [...], "source": "...", "note"?}`` for ``year``.

    Raises ``ScheduleInvalid`` listing every problem found.
    """
    problems: list[tuple[str, str]] = []
    if not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(("year", f"年份必须在 {MIN_YEAR} 至 {MAX_YEAR} 之间"))
        raise ScheduleInvalid(problems)
    if not isinstance(body, dict):
        raise ScheduleInvalid([("", "节假日安排必须是 JSON 对象")])
    for key in sorted(set(body) - _SCHEDULE_KEYS, key=str):
        problems.append((str(key)[:40], "未知字段"))

    if "holidays" not in body:
        problems.append(("holidays", "缺少法定节假日列表"))
    holidays = _parse_dates(year, "holidays", body.get("holidays", []), problems)
    if "holidays" in body and isinstance(body["holidays"], list) and not body["holidays"]:
        problems.append(("holidays", "至少需要一个法定节假日"))
    workdays = _parse_dates(year, "workdays", body.get("workdays", []), problems)
    holiday_set = set(holidays)
    for day in workdays:
        if day.weekday() < 5:
            problems.append(("workdays", f"{day.isoformat()} 是周一至周五，调休上班日必须是周六或周日"))
        if day in holiday_set:
            problems.append(("workdays", f"{day.isoformat()} 同时出现在法定节假日和调休上班日中"))

    source = body.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(("source", "必须注明来源（如国务院办公厅通知的名称和文号）"))
    elif len(source) > 500:
        problems.append(("source", "来源不能超过 500 个字符"))
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(("note", "备注必须是字符串"))
    elif isinstance(note, str) and len(note) > 2000:
        problems.append(("note", "备注不能超过 2000 个字符"))

    if problems:
        raise ScheduleInvalid(problems)
    assert isinstance(source, str)
    return ParsedSchedule(year=year, holidays=tuple(sorted(holidays)), workdays=tuple(sorted(workdays)),
                          source=source.strip(), note=note.strip() if isinstance(note, str) and note.strip() else None)
