"""The portals' menus and log-in pages, per role. Pure data."""

from __future__ import annotations

LOGIN_PATHS = {"enterprise": "/login/enterprise", "institution": "/login/institution",
               "platform": "/login/institution", "admin": "/login/operator", "provider": "/login/provider"}

PORTAL_HOME = {"enterprise": "/enterprise", "institution": "/institution", "platform": "/institution",
               "admin": "/operator", "provider": "/provider"}

PORTAL_NAME = {"enterprise": "企业端", "institution": "机构端", "platform": "机构端", "admin": "管理端",
               "provider": "数据报送"}

_MENUS: dict[str, list[tuple[str, str]]] = {
    "enterprise": [
        ("/enterprise", "首页"), ("/enterprise/credit", "我的信用信息"), ("/enterprise/evaluation", "信用评价"),
        ("/enterprise/authorizations", "授权管理"), ("/enterprise/disclosures", "查询记录"),
        ("/enterprise/objections", "异议与修复"), ("/enterprise/financing", "融资需求"), ("/enterprise/sucode", "苏信码"),
    ],
    "institution": [
        ("/institution", "首页"), ("/institution/lookup", "企业查询"), ("/institution/authorizations", "获得的授权"),
        ("/institution/alerts", "预警通知"), ("/institution/watchlist", "监测名单"),
        ("/institution/push", "推送与订阅"), ("/institution/tokens", "访问令牌"), ("/institution/applications", "融资申请"),
        ("/institution/loans", "贷款反馈"), ("/institution/products", "金融产品"),
    ],
    "admin": [
        ("/operator", "监测看板"), ("/operator/catalog", "共享清单"), ("/operator/providers", "数据提供单位"),
        ("/operator/batches", "归集批次"), ("/operator/quality", "归集质量"), ("/operator/institutions", "接入机构"),
        ("/operator/ledger", "防篡改账本"), ("/operator/jobs", "后台任务"), ("/operator/alerts", "运营告警"),
        ("/operator/objections", "异议与修复"), ("/operator/evaluation", "信用评价"), ("/operator/statistics", "统计与通报"),
    ],
    "provider": [("/provider", "批次报送"), ("/provider/batches", "我的批次")],
}
_MENUS["platform"] = _MENUS["institution"]

PUBLIC_MENU = [("/", "首页"), ("/guideline", "评价指引"), ("/sucode", "苏信码核验"), ("/products", "金融产品"),
               ("/register", "企业注册"), ("/login", "登录")]


def nav_for(role: str | None) -> list[tuple[str, str]]:
    return _MENUS.get(role or "", PUBLIC_MENU)
