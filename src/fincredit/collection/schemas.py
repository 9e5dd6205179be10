"""Request and response models of the collection API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, examples=["tax"])
    name: str = Field(min_length=1, max_length=200, examples=["省税务局"])
    categories: list[str] = Field(min_length=1, max_length=100, examples=[["1", "2", "3"]])


class ProviderCategories(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[str] = Field(min_length=1, max_length=100)


class ProviderOut(BaseModel):
    code: str
    name: str
    categories: list[str]
    endpoint_url: str | None = None
    created_at: str


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)


class TokenOut(BaseModel):
    token: str


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=500, examples=["https://api.tax.example.gov.cn/fincredit"])
    secret: str = Field(min_length=16, max_length=200)


class BatchOut(BaseModel):
    id: int
    status: str = Field(description="accepted | partially_accepted | rejected")
    provider: str
    category: str
    catalog_version: int
    rows_total: int
    accepted: int
    rejected: int
    superseded: int
    unchanged: int
    mode: str
    filename: str
    file_format: str
    encoding: str | None
    size_bytes: int
    content_hash: str = Field(description="SM3 of the file bytes")
    error_summary: str | None
    received_at: str
    completed_at: str | None
    ledger_index: int | None


class BatchErrorOut(BaseModel):
    row: int | None
    field: str
    code: str
    message: str


BATCH_UPLOAD_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["category", "file"],
            "properties": {
                "category": {"type": "string", "description": "信息类编码：1…37 或 base"},
                "file": {"type": "string", "format": "binary",
                         "description": "CSV（UTF-8/GBK/GB18030）、XLSX 或 JSON Lines"},
                "mode": {"type": "string", "enum": ["store_valid", "all_or_nothing"], "default": "store_valid"},
                "encoding": {"type": "string", "description": "声明的编码：utf-8、gbk、gb18030（CSV）"},
            },
        }}},
    },
}
