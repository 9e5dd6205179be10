"""Response shapes of the statistics API and the Chinese column headers of its CSV downloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FigureResponse(BaseModel):
    figure: str
    by: str | None
    start: str | None
    end: str
    rows: list[dict[str, Any]]


# Column → Chinese header for CSV downloads (the JSON keys stay English).
HEADERS: dict[str, str] = {
    "key": "分组",
    "accounts_created": "期间新增注册企业数", "accounts_cumulative": "累计注册企业数",
    "live_enterprises": "存续企业数", "registered_share": "注册企业占存续企业比例",
    "granted": "期间新增授权数", "revoked": "期间撤销授权数", "uses": "期间授权使用次数",
    "authorizations_used": "期间被使用的授权数",
    "disclosures": "期间查询次数", "verifications": "其中数据核验次数", "enterprises_queried": "被查询企业数",
    "loans_granted": "期间放款笔数", "amount_wan": "期间放款金额（万元）", "first_loans": "期间首贷笔数",
    "credit_loans": "期间信用贷款笔数", "loans_cumulative": "累计放款笔数", "balance_wan": "期末贷款余额（万元）",
    "credit_balance_wan": "期末信用贷款余额（万元）", "credit_balance_share": "信用贷款余额占比",
    "overdue_rate": "逾期率", "default_rate": "违约率",
    "batches": "期间批次数", "rejected_batches": "整批拒收批次数", "rows_total": "数据行数",
    "accepted": "接收行数", "rejected": "拒收行数", "rejection_rate": "拒收率",
    "received": "期间受理异议数", "forwarded": "已转送数", "forwarded_within_deadline": "2个工作日内转送数",
    "forwarded_within_deadline_share": "2个工作日内转送比例", "resolved": "已办结数", "corrected": "已更正数",
    "categories": "负责信息类数", "categories_on_time": "按期更新信息类数", "categories_late": "逾期信息类数",
    "categories_not_yet_due": "未到共享期限信息类数", "timeliness_share": "按期率",
}
