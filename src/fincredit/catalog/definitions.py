"""Pure definitions of the catalog: categories (信息类) and their fields (共享内容).

No ORM or web imports: the validation of a record against its category, the synthetic
province and the disclosure rules all read these objects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ANNEX_PATH = Path(__file__).parent / "annex.yaml"

FieldType = Literal[
    "text", "uscc", "resident_id", "id_type", "id_number", "date", "year_month", "year", "datetime",
    "amount_yuan", "amount_wan", "count", "months", "number", "percent", "boolean", "enum", "range",
    "phone", "region_code", "industry_code",
]
SharingMethod = Literal["bulk", "interface_authorized", "interface_open", "verification"]
DisclosureClass = Literal["public", "non_public", "verification"]
SubjectKind = Literal["enterprise", "person", "party"]

SHARING_METHOD_LABELS = {
    "bulk": "物理归集",
    "interface_authorized": "接口调用（经企业授权）",
    "interface_open": "接口调用（无授权）",
    "verification": "数据核验（经企业授权）",
}
DISCLOSURE_CLASS_LABELS = {"public": "公开信息", "non_public": "非公开信息", "verification": "仅数据核验"}
FIELD_TYPE_LABELS = {
    "text": "文本", "uscc": "统一社会信用代码", "resident_id": "居民身份证号码", "id_type": "证件类型",
    "id_number": "证件号码", "date": "日期", "year_month": "年月", "year": "年度", "datetime": "日期时间",
    "amount_yuan": "金额（元）", "amount_wan": "金额（万元）", "count": "人数/个数", "months": "月数",
    "number": "数值", "percent": "百分比", "boolean": "是/否", "enum": "枚举", "range": "区间",
    "phone": "电话号码", "region_code": "行政区划代码", "industry_code": "行业代码",
}


def normalize_name(name: str) -> str:
    """Header/field-name normal form: NFKC, trimmed, internal whitespace removed.

    NFKC folds full-width brackets, so ``近一年增值税应纳税金额（元）`` matches ``…(元)``.
    """
    return "".join(unicodedata.normalize("NFKC", str(name)).split())


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    type: FieldType
    required: bool = False
    identifies: bool = False
    personal: bool = False
    sharing_method: SharingMethod | None = None
    id_type_field: str | None = None
    values: list[str] | None = None
    max_length: int | None = Field(default=None, ge=1, le=100_000)
    min: float | None = None
    max: float | None = None
    aliases: list[str] = Field(default_factory=list)
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldDef:
        if self.type == "enum" and not self.values:
            raise ValueError(f"枚举字段“{self.name}”必须给出取值列表 values")
        if self.type != "enum" and self.values:
            raise ValueError(f"只有枚举字段可以给出 values（字段“{self.name}”）")
        if self.id_type_field and self.type != "id_number":
            raise ValueError(f"只有证件号码字段可以指定 id_type_field（字段“{self.name}”）")
        return self


class CategoryDef(BaseModel):
    """One category (信息类) of the catalog."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_]+$")
    name: str = Field(min_length=1, max_length=100)
    sharing_method: SharingMethod
    provider: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    due: dt.date | None = None
    due_text: str | None = None
    annex_note: str | None = None
    disclosure_class: DisclosureClass
    class_reason: str = Field(min_length=1)
    subject: SubjectKind
    update_cycle_days: int = Field(default=31, ge=1, le=3660)
    monthly: bool = False
    natural_key: list[str] = Field(min_length=1)
    corrections: list[str] = Field(default_factory=list)
    retired: bool = False
    node_own: bool = Field(default=False, description="a category of the node's own, not in the annex")
    fields: list[FieldDef] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, fields: list[FieldDef]) -> list[FieldDef]:
        seen: dict[str, str] = {}
        for f in fields:
            for label in [f.name, *f.aliases]:
                key = normalize_name(label)
                if key in seen and seen[key] != f.name:
                    raise ValueError(f"字段名或别名“{label}”重复")
                if key in seen and label == f.name:
                    raise ValueError(f"字段名“{label}”重复")
                seen[key] = f.name
        return fields

    @model_validator(mode="after")
    def _check(self) -> CategoryDef:
        names = {f.name for f in self.fields}
        missing = [k for k in self.natural_key if k not in names]
        if missing:
            raise ValueError(f"自然键字段不存在：{'、'.join(missing)}")
        if not any(f.identifies for f in self.fields):
            raise ValueError("至少要有一个字段标明信用主体（identifies: true）")
        for f in self.fields:
            if f.id_type_field and f.id_type_field not in names:
                raise ValueError(f"字段“{f.name}”引用的证件类型字段“{f.id_type_field}”不存在")
        return self

    # -- derived views -------------------------------------------------------------------
    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def subject_field(self) -> FieldDef:
        return next(f for f in self.fields if f.identifies)

    @property
    def verification_fields(self) -> list[str]:
        """Fields answered only as match / no match."""
        if self.disclosure_class == "verification":
            return [f.name for f in self.fields]
        return [f.name for f in self.fields if f.sharing_method == "verification"]

    @property
    def personal_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.personal]

    def header_map(self) -> dict[str, str]:
        """Normalized header or alias → canonical field name."""
        out: dict[str, str] = {}
        for f in self.fields:
            for label in [f.name, *f.aliases]:
                out[normalize_name(label)] = f.name
        return out

    def public_dict(self) -> dict:
        d = self.model_dump(mode="json", exclude_none=True)
        d["sharing_method_label"] = SHARING_METHOD_LABELS[self.sharing_method]
        d["disclosure_class_label"] = DISCLOSURE_CLASS_LABELS[self.disclosure_class]
        for fd in d["fields"]:
            fd["type_label"] = FIELD_TYPE_LABELS[fd["type"]]
            fd["sharing_method"] = fd.get("sharing_method") or self.sharing_method
        return d


class AnnexDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catalog_version_note: str
    providers: dict[str, str]
    categories: list[CategoryDef]

    @model_validator(mode="after")
    def _check(self) -> AnnexDocument:
        codes = [c.code for c in self.categories]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"信息类编码重复：{'、'.join(dupes)}")
        unknown = sorted({c.provider for c in self.categories} - set(self.providers))
        if unknown:
            raise ValueError(f"未登记的责任单位编码：{'、'.join(unknown)}")
        return self


def canonical_hash(obj: object) -> str:
    data = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()


@lru_cache
def load_annex(path: Path = ANNEX_PATH) -> AnnexDocument:
    with path.open(encoding="utf-8") as fh:
        return AnnexDocument.model_validate(yaml.safe_load(fh))
