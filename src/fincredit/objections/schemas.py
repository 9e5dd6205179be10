"""Request and response models of the objection and repair APIs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ObjectionIn(BaseModel):
    """异议申诉：对本企业的一条信用记录提出异议。"""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=32, description="信息类编码（\"1\"…\"37\"、\"base\"）")
    record_id: int = Field(ge=1, le=2**62, description="记录编号（GET /api/v1/me/credit 中的 id）")
    reason: str = Field(min_length=1, max_length=5000, description="异议理由")


class ObjectionFiled(BaseModel):
    id: int
    status: str
    forward_deadline: str = Field(description="转交省级节点的期限（北京时间，第2个工作日 23:59:59）")
    deadline_date: str
    calendar_basis: Literal["official", "weekends_only"]
    warnings: list[str]
    attachments: list[dict[str, Any]] = []


class ResolveIn(BaseModel):
    """省级节点的处理结论。"""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["corrected", "upheld", "partly_corrected"]
    reason: str = Field(min_length=1, max_length=5000, description="处理理由（企业可见）")
    corrected_values: dict[str, Any] | None = Field(
        default=None, description="更正后的字段值 {字段名: 值}；corrected / partly_corrected 时必填")
    provider_confirmation: str = Field(min_length=1, max_length=500,
                                       description="数据提供单位的确认意见（如复核函文号）")


class ObjectionQueue(BaseModel):
    items: list[dict[str, Any]]
    total: int
    overdue: int


class DecideIn(BaseModel):
    """信用修复审核意见。"""

    model_config = ConfigDict(extra="forbid")

    approved: bool
    reason: str = Field(min_length=1, max_length=10_000)


class RepairIn(BaseModel):
    """信用修复申请的表单字段（multipart，另附整改证明材料 files）。"""

    model_config = ConfigDict(extra="forbid")

    record_id: int = Field(ge=1, le=2**62)
    commitment: str = Field(min_length=1, max_length=10_000, description="信用修复承诺书全文")
    category: str | None = Field(default=None, max_length=32)
