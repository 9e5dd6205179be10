"""The authorization letter (授权书): versioned templates rendered into Chinese text.

Templates live in ``letters/<version>.txt`` and use ``string.Template`` placeholders. A template
is never changed once released; a new wording is a new version file, and each artefact records
the version it was rendered from. Pure module: no ORM, no web.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

LETTERS_DIR = Path(__file__).parent / "letters"
CURRENT_TEMPLATE_VERSION = "v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CLASS_NOTE = {"public": "公开信息，个人信息脱敏", "non_public": "非公开信息，仅提供加工产品",
              "verification": "仅数据核验"}


@dataclass(frozen=True)
class LetterCategory:
    code: str
    name: str
    disclosure_class: str


@dataclass(frozen=True)
class LetterContext:
    authorization_id: str
    enterprise_name: str
    enterprise_uscc: str
    institution_name: str | None
    institution_id: int | None
    purpose_label: str
    categories: list[LetterCategory]
    data_from: dt.date | None
    data_to: dt.date | None
    starts_at: dt.datetime
    expires_at: dt.datetime
    catalog_version: int
    key_id: str


@lru_cache
def load_template(version: str) -> Template:
    path = LETTERS_DIR / f"{version}.txt"
    if not version.isalnum() or not path.is_file():
        raise KeyError(version)
    return Template(path.read_text(encoding="utf-8"))


def shanghai_text(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def _data_period(data_from: dt.date | None, data_to: dt.date | None) -> str:
    if not data_from and not data_to:
        return "不限（平台现有的全部数据）"
    start = data_from.strftime("%Y年%m月%d日") if data_from else "最早的数据"
    end = data_to.strftime("%Y年%m月%d日") if data_to else "最新的数据"
    return f"{start}至{end}"


def render_letter(ctx: LetterContext, version: str = CURRENT_TEMPLATE_VERSION) -> str:
    if ctx.institution_name is not None:
        grantee = f"{ctx.institution_name}（平台接入机构编号：{ctx.institution_id}）"
    else:
        grantee = "社会公众（通过苏信码查看本企业的信用评价结果）"
    if ctx.categories:
        lines = "\n".join(f"  {i}. {c.name}（信息类 {c.code}，{CLASS_NOTE.get(c.disclosure_class, '')}）"
                          for i, c in enumerate(ctx.categories, 1))
    else:
        lines = "  无（仅展示平台对本企业的信用评价结果）"
    return load_template(version).substitute(
        template_version=version, authorization_id=ctx.authorization_id,
        enterprise_name=ctx.enterprise_name, enterprise_uscc=ctx.enterprise_uscc, grantee=grantee,
        purpose_label=ctx.purpose_label, catalog_version=ctx.catalog_version, category_lines=lines,
        data_period=_data_period(ctx.data_from, ctx.data_to), starts_at=shanghai_text(ctx.starts_at),
        expires_at=shanghai_text(ctx.expires_at), key_id=ctx.key_id,
    )
