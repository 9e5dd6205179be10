"""Formatting for the portals: Beijing time, numbers, and the Chinese labels of stored codes. Pure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

ROLE_LABELS = {"enterprise": "企业", "institution": "接入机构", "platform": "对接平台", "admin": "省级节点运营人员",
               "provider": "数据提供单位"}
AUTHORIZATION_STATUS = {"active": "有效", "revoked": "已撤销", "expired": "已过期", "pending": "未生效"}
FORM_LABELS = {"raw": "原始数据", "masked_public": "公开信息（脱敏）", "processed": "加工产品",
               "verification": "数据核验", "none": "未提供"}
DISCLOSURE_KIND = {"enterprise_view": "企业信用信息查询", "verification": "数据核验", "evaluation": "信用评价查询"}
BATCH_STATUS = {"accepted": "已入库", "partially_accepted": "部分入库", "rejected": "已拒收"}
JOB_STATUS = {"queued": "排队中", "running": "运行中", "succeeded": "已完成", "failed": "失败待重试", "dead": "已放弃"}
SEVERITY = {"high": "高", "medium": "中", "low": "低", "info": "通知"}
WEBHOOK_STATUS = {"active": "启用", "disabled": "已停用", "deleted": "已删除"}
SCHEDULE = {"daily": "每日", "weekly": "每周"}
DELIVERY = {"webhook": "Webhook 推送", "file": "文件下载"}


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return aware.astimezone(SHANGHAI)


def local_time(value: dt.datetime | str | None, seconds: bool = False) -> str:
    """``2025-03-01 14:05`` in Beijing time; ISO strings are accepted; None → ``""``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    local = to_local(value)
    assert local is not None
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = to_local(value)
        assert local is not None
        value = local.date()
    return value.strftime("%Y-%m-%d")


def today_local() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def short_hash(value: str | None, length: int = 12) -> str:
    return "" if not value else (value[:length] + "…" if len(value) > length else value)


def label(mapping: dict[str, str], key: str | None) -> str:
    return mapping.get(key or "", key or "")


def cell(value: object) -> str:
    """A stored record value as text: ranges by their text, booleans as 是/否, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return str(value.get("text") or "、".join(f"{k}：{v}" for k, v in value.items()))
    if isinstance(value, list | tuple):
        return "、".join(cell(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
