"""Date and time values of collected records: ``date``, ``year_month``, ``year``, ``datetime``.

Pure Python; the checks follow the contract of ``values.py`` (return the clean value, ``MISSING``
for blanks, or raise ``FieldError``). Years outside 1900..2100 (``year``: 1949..2100) are refused.

- ``date`` → ISO ``YYYY-MM-DD``. Accepts ``2024-03-05``, ``2024/3/5``, ``2024.03.05``,
  ``20240305``, ``2024年3月5日``, a trailing time part (``2024/3/5 0:00`` from Excel exports, which
  is dropped), ``date``/``datetime`` objects, and 5-digit Excel serial day numbers (1900 date
  system, 1927..2100) given as numbers (XLSX/JSON) or as text; ``2024`` is never read as a serial.
- ``year_month`` → ``YYYY-MM`` from ``2024-03``, ``202403``, ``2024年3月``, ``2024/03``, ``2024.3``.
- ``year`` → ``int`` from ``2023``, ``2023年``, ``2023.0``.
- ``datetime`` → ISO 8601 with offset, seconds precision, in China Standard Time:
  ``2024-03-05T12:30:00+08:00``. Naive input is taken as Asia/Shanghai; aware input is converted.
  China has not observed daylight saving time since 1991, so a fixed +08:00 is exact for the
  dates we handle and needs no tz database.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone

from fincredit.collection.values import MISSING, FieldError, as_text, nfkc

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
MIN_YEAR, MAX_YEAR = 1900, 2100
_EXCEL_EPOCH = date(1899, 12, 30)
_MIN_SERIAL = 10_000
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days

_DATE_SEP_RE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_DATE_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_CN_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_TIME_TAIL_RE = re.compile(r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$|[T ]\d{1,2}时\d{1,2}分(?:\d{1,2}秒)?$")
_SERIAL_TEXT_RE = re.compile(r"\d{5}(?:\.\d+)?")
_YEAR_MONTH_RE = re.compile(r"(\d{4})(?:[-/.]|年)?(\d{1,2})月?")
_YEAR_RE = re.compile(r"(\d{4})(?:\.0+|年|年度)?")
_DATETIME_RE = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_DATETIME_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")


def _checked_date(year: int, month: int, day: int) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FieldError("date_out_of_range", f"年份应在 {MIN_YEAR}—{MAX_YEAR} 之间")
    try:
        return date(year, month, day)
    except ValueError:
        raise FieldError("impossible_date", "日期不存在（如 2 月 30 日、13 月）") from None


def excel_serial_to_date(serial: float) -> date:
    """An Excel serial day number (1900 date system) as a date; fractional days are ignored.

    Only 5-digit serials (10000 = 1927-05-18 … 2100-12-31) are taken: a smaller number in a
    date column is far more likely a mistake (a year, a count) than a date before 1927.
    """
    if not math.isfinite(serial) or serial < _MIN_SERIAL or serial > _MAX_SERIAL:
        raise FieldError("bad_date", "不是有效的日期")
    days = int(serial)
    return _EXCEL_EPOCH + timedelta(days=days)  # serials above 60 skip Excel's phantom 1900-02-29


def to_date(value: object) -> date | None:
    """Parse a date value into ``datetime.date`` (``None`` when blank); see the module docstring."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _checked_date(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise FieldError("bad_date", "不是有效的日期")
    if isinstance(value, int | float):
        if isinstance(value, int) and 10_000_000 <= value <= 99_999_999:
            return to_date(str(value))
        return _checked_date_obj(excel_serial_to_date(value))
    text = as_text(value).strip()
    if not text:
        return None
    if not text.isascii():
        text = nfkc(text).strip()
    parsed = _date_from_text(text)
    if parsed is not None:
        return parsed
    if _SERIAL_TEXT_RE.fullmatch(text):
        return excel_serial_to_date(float(text))
    raise FieldError("bad_date", "不是可识别的日期（应为 YYYY-MM-DD）")


def _date_from_text(text: str) -> date | None:
    """A written-out date (separators, compact or 年月日), or None when it is not one."""
    if len(text) > 10:
        text = _TIME_TAIL_RE.sub("", text).strip()
    match = _DATE_SEP_RE.fullmatch(text)
    if match:
        return _checked_date(int(match[1]), int(match[3]), int(match[4]))
    match = _DATE_COMPACT_RE.fullmatch(text) or _DATE_CN_RE.fullmatch(text)
    if match:
        return _checked_date(int(match[1]), int(match[2]), int(match[3]))
    return None


def _checked_date_obj(day: date) -> date:
    return _checked_date(day.year, day.month, day.day)


def parse_date(value: object) -> object:
    """``date`` check: ISO ``YYYY-MM-DD`` text or ``MISSING``."""
    if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if MIN_YEAR <= parsed.year <= MAX_YEAR and value.isascii():
                return value
    day = to_date(value)
    return MISSING if day is None else day.isoformat()


def parse_year_month(value: object) -> object:
    """``year_month`` check: ``YYYY-MM`` text or ``MISSING``."""
    if isinstance(value, date):
        day = to_date(value)
        assert day is not None
        return f"{day.year:04d}-{day.month:02d}"
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise FieldError("bad_year_month", "不是可识别的年月（应为 YYYY-MM）")
    if isinstance(value, float):
        value = int(value)
    text = as_text(value).strip()
    if not text:
        return MISSING
    if not text.isascii():
        text = nfkc(text).strip()
    match = _YEAR_MONTH_RE.fullmatch(text)
    if not match or (len(match[2]) == 1 and text[4:5].isdigit()):
        day = _date_from_text(text)  # a full date (2024/3/1) names its month
        if day is None:
            raise FieldError("bad_year_month", "不是可识别的年月（应为 YYYY-MM）")
        return f"{day.year:04d}-{day.month:02d}"
    year, month = int(match[1]), int(match[2])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FieldError("date_out_of_range", f"年份应在 {MIN_YEAR}—{MAX_YEAR} 之间")
    if not 1 <= month <= 12:
        raise FieldError("impossible_date", "月份应在 1—12 之间")
    return f"{year:04d}-{month:02d}"


def parse_year(value: object) -> object:
    """``year`` check: ``int`` in 1949..2100 or ``MISSING``."""
    if type(value) is int:
        year = value
    elif isinstance(value, bool):
        raise FieldError("bad_year", "不是有效的年度（应为四位数字）")
    else:
        text = as_text(value).strip()
        if not text:
            return MISSING
        if not text.isascii():
            text = nfkc(text).strip()
        match = _YEAR_RE.fullmatch(text)
        if not match:
            raise FieldError("bad_year", "不是有效的年度（应为四位数字）")
        year = int(match[1])
    if not 1949 <= year <= MAX_YEAR:
        raise FieldError("date_out_of_range", f"年度应在 1949—{MAX_YEAR} 之间")
    return year


def parse_datetime(value: object) -> object:
    """``datetime`` check: ISO text with +08:00 (see the module docstring) or ``MISSING``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, bool):
        raise FieldError("bad_datetime", "不是可识别的日期时间")
    elif isinstance(value, int | float) and not (isinstance(value, int) and value > 9_999_999):
        day = excel_serial_to_date(value)
        fraction = value - math.floor(value)
        moment = datetime(day.year, day.month, day.day) + timedelta(seconds=round(fraction * 86400))
    else:
        parsed = _parse_datetime_text(as_text(value))
        if parsed is None:
            return MISSING
        moment = parsed
    _checked_date(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    else:
        moment = moment.astimezone(CHINA_TZ)
    return moment.isoformat(timespec="seconds")


def _parse_datetime_text(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii():
        text = nfkc(text).strip()
    match = _DATETIME_RE.fullmatch(text)
    if match:
        year, month, day = int(match[1]), int(match[3]), int(match[4])
        hour, minute, second = int(match[5] or 0), int(match[6] or 0), int(match[7] or 0)
        micro = int((match[8] or "0").ljust(6, "0"))
        offset = match[9]
    else:
        match = _DATETIME_COMPACT_RE.fullmatch(text)
        if not match:
            only_date = _date_from_text(text)
            if only_date is not None:
                return datetime(only_date.year, only_date.month, only_date.day)
            raise FieldError("bad_datetime", "不是可识别的日期时间（应为 YYYY-MM-DD HH:MM:SS）")
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        micro, offset = 0, None
    _checked_date(year, month, day)
    tz = None
    if offset:
        if offset == "Z":
            tz = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 14 or minutes > 59:
                raise FieldError("bad_datetime", "时区偏移不正确")
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        raise FieldError("impossible_date", "时间不存在（如 25 时、61 分）") from None
