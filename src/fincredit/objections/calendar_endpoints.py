"""The working-calendar API (工作日历): load and read the State Council's holiday schedules."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from fincredit.objections import calendar_service
from fincredit.web.deps import AdminDep, SessionDep

router = APIRouter(tags=["工作日历"])

_SCHEDULE_SCHEMA = {
    "type": "object",
    "required": ["holidays", "source"],
    "additionalProperties": False,
    "properties": {
        "holidays": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "date"},
                     "description": "法定节假日（含假期中的周末），均在路径中的年份内"},
        "workdays": {"type": "array", "items": {"type": "string", "format": "date"},
                     "description": "调休上班的周六、周日"},
        "source": {"type": "string", "maxLength": 500, "description": "通知名称和文号"},
        "note": {"type": "string", "maxLength": 2000},
    },
    "example": {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "workdays": [],
                "source": "国务院办公厅关于2027年部分节假日安排的通知"},
}


async def _json_body(request: Request) -> Any:
    """The body as parsed JSON; malformed JSON is a schedule problem, not a generic 422."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise calendar_service.invalid_schedule([("", "请求体不是合法的 JSON")]) from exc


@router.get("/calendar", summary="工作日历状态：数据覆盖的年份及缺少节假日安排的年份")
def calendar_status(session: SessionDep, _admin: AdminDep) -> dict:
    return calendar_service.calendar_status(session)


@router.put("/calendar/{year}", summary="加载某年的法定节假日和调休上班日（每次加载生成新版本）",
            openapi_extra={"requestBody": {"required": True,
                                           "content": {"application/json": {"schema": _SCHEDULE_SCHEMA}}}})
def load_calendar(year: int, session: SessionDep, admin: AdminDep,
                  body: Annotated[Any, Depends(_json_body)]) -> dict:
    # The role is checked before the body is read: a stranger learns nothing from validation.
    row = calendar_service.load_schedule(session, year, body, loaded_by=admin.name or admin.subject)
    return calendar_service.schedule_to_dict(row)


@router.get("/calendar/{year}", summary="某年实际使用的工作日历及其来源和全部版本")
def show_calendar(year: int, session: SessionDep, _admin: AdminDep) -> dict:
    return calendar_service.effective_year(session, year)


@router.get("/calendar/{year}/versions/{version}", summary="某年节假日安排的指定版本")
def show_calendar_version(year: int, version: int, session: SessionDep, _admin: AdminDep) -> dict:
    return calendar_service.schedule_to_dict(calendar_service.get_version(session, year, version))
