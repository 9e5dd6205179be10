"""Loading holiday schedules and computing deadlines on the effective working calendar.

Services never commit: the request or CLI command owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fincredit.db import CACHE_CLEARERS, as_utc, utcnow
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.logs import get_logger
from fincredit.objections.calendar import (
    MAX_YEAR,
    MIN_YEAR,
    SHANGHAI,
    DeadlineResult,
    ScheduleInvalid,
    WorkingCalendar,
    YearSchedule,
    package_years,
    parse_schedule,
    weekends_only_warning,
)
from fincredit.objections.calendar_models import HolidaySchedule


def _log() -> Any:
    # Looked up per use: a module-level logger caches the stream of the first configuration.
    return get_logger(__name__)

SOURCE_LABELS = {
    "loaded": "已加载的国务院办公厅节假日安排",
    "package": "chinese_calendar 软件包内置数据",
    "weekends_only": "无节假日数据，仅按周末计算",
}

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], WorkingCalendar]] = {}


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


CACHE_CLEARERS.append(clear_cache)


def invalid_schedule(problems: list[tuple[str, str]]) -> Unprocessable:
    listed = "；".join(f"{f}：{m}" if f else m for f, m in problems)
    return Unprocessable(f"节假日安排不合法：{listed}", code="bad_holiday_schedule",
                         details=[{"field": f, "message": m} for f, m in problems])


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Unprocessable(f"年份必须在 {MIN_YEAR} 至 {MAX_YEAR} 之间", code="calendar_year_out_of_range")


# --- queries ----------------------------------------------------------------------------------


def list_versions(session: Session, year: int) -> list[HolidaySchedule]:
    return list(session.scalars(select(HolidaySchedule).where(HolidaySchedule.year == year)
                                .order_by(HolidaySchedule.version)))


def get_version(session: Session, year: int, version: int) -> HolidaySchedule:
    row = session.scalar(select(HolidaySchedule).where(HolidaySchedule.year == year,
                                                       HolidaySchedule.version == version))
    if row is None:
        raise NotFound(f"{year}年的节假日安排第 {version} 版不存在", code="holiday_schedule_not_found")
    return row


def _newest_per_year(session: Session) -> list[HolidaySchedule]:
    newest = (select(HolidaySchedule.year, func.max(HolidaySchedule.version).label("version"))
              .group_by(HolidaySchedule.year).subquery())
    return list(session.scalars(select(HolidaySchedule).join(
        newest, (HolidaySchedule.year == newest.c.year) & (HolidaySchedule.version == newest.c.version))))


# --- loading ----------------------------------------------------------------------------------


def load_schedule(session: Session, year: int, body: Any, loaded_by: str) -> HolidaySchedule:
    """Validate and store a new version of ``year``'s schedule; it applies from now on."""
    try:
        parsed = parse_schedule(year, body)
    except ScheduleInvalid as exc:
        raise invalid_schedule(exc.problems) from exc
    current = session.scalar(select(func.max(HolidaySchedule.version)).where(HolidaySchedule.year == year))
    row = HolidaySchedule(
        year=year, version=(current or 0) + 1,
        holidays=[d.isoformat() for d in parsed.holidays],
        workdays=[d.isoformat() for d in parsed.workdays],
        source=parsed.source, note=parsed.note, loaded_by=(loaded_by or "unknown")[:100],
        created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{year}年的节假日安排正被同时加载，请重试", code="holiday_schedule_conflict") from exc
    _log().info("calendar.schedule_loaded", year=year, version=row.version, holidays=len(row.holidays),
             workdays=len(row.workdays), loaded_by=row.loaded_by)
    return row


# --- the effective calendar -------------------------------------------------------------------


def _row_schedule(row: HolidaySchedule) -> YearSchedule:
    return YearSchedule(row.year, frozenset(dt.date.fromisoformat(d) for d in row.holidays),
                        frozenset(dt.date.fromisoformat(d) for d in row.workdays))


def get_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with every year's newest loaded schedule.

    Cached per database; one aggregate query tells whether a schedule was loaded since.
    """
    count, newest_id, newest_at = session.execute(
        select(func.count(HolidaySchedule.id), func.max(HolidaySchedule.id),
               func.max(HolidaySchedule.created_at))).one()
    bind = session.get_bind()
    db_key = str(getattr(bind, "url", id(bind)))
    key = (count, newest_id, as_utc(newest_at).isoformat() if newest_at else None)
    with _cache_lock:
        cached = _cache.get(db_key)
        if cached is not None and cached[0] == key:
            return cached[1]
    calendar = WorkingCalendar({row.year: _row_schedule(row) for row in _newest_per_year(session)})
    with _cache_lock:
        _cache[db_key] = (key, calendar)
    return calendar


def years_without_data(session: Session, years: Any) -> list[int]:
    """Of ``years``, those with neither a loaded schedule nor chinese_calendar data."""
    return get_calendar(session).years_without_data(years)


def years_in_use(today: dt.date) -> list[int]:
    """This year, and from November (when the State Council usually publishes it) next year too."""
    return [today.year, today.year + 1] if today.month >= 11 else [today.year]


def calendar_status(session: Session, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the operator portal shows: coverage and the years in use that lack data."""
    today = (now or utcnow()).astimezone(SHANGHAI).date()
    calendar = get_calendar(session)
    missing = calendar.years_without_data(years_in_use(today))
    loaded = sorted({row.year for row in _newest_per_year(session)})
    first, last = package_years()
    return {
        "package_years": [first, last],
        "loaded_years": loaded,
        "years_without_data": missing,
        "warnings": [weekends_only_warning(y) for y in missing],
    }


def compute_forward_deadline(session: Session, filed_at: dt.datetime) -> DeadlineResult:
    """The §14 forwarding deadline of an objection filed at ``filed_at`` (timezone-aware)."""
    result = get_calendar(session).forward_deadline(filed_at)
    if result.calendar_basis == "weekends_only":
        _log().warning("calendar.weekends_only", years=list(result.years_without_data),
                    filed_at=result.filed_at.isoformat(), deadline=result.deadline_date.isoformat())
    return result


# --- views ------------------------------------------------------------------------------------


def schedule_to_dict(row: HolidaySchedule) -> dict[str, Any]:
    return {
        "year": row.year,
        "version": row.version,
        "holidays": list(row.holidays),
        "workdays": list(row.workdays),
        "source": row.source,
        "note": row.note,
        "loaded_by": row.loaded_by,
        "created_at": as_utc(row.created_at).isoformat(),
    }


def effective_year(session: Session, year: int) -> dict[str, Any]:
    """The calendar that applies to ``year``, where it comes from, and the stored versions."""
    check_year(year)
    calendar = get_calendar(session)
    source = calendar.source_for(year)
    versions = list_versions(session, year)
    schedule = calendar.schedule_for(year)
    if source == "loaded":
        label = f"已加载的节假日安排第 {versions[-1].version} 版（{versions[-1].source}）"
    else:
        label = SOURCE_LABELS[source]
    return {
        "year": year,
        "source": source,
        "source_label": label,
        "version": versions[-1].version if source == "loaded" else None,
        "holidays": sorted(d.isoformat() for d in schedule.holidays) if schedule else [],
        "workdays": sorted(d.isoformat() for d in schedule.workdays) if schedule else [],
        "versions": [{"version": v.version, "source": v.source, "loaded_by": v.loaded_by,
                      "created_at": as_utc(v.created_at).isoformat()} for v in versions],
        "warnings": [weekends_only_warning(year)] if source == "weekends_only" else [],
    }

