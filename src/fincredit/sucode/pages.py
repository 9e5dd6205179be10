"""The public 苏信码 page (``GET /sucode/{token}``): what a scan opens. No login; HTML in Chinese."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from fincredit.sucode import service
from fincredit.sucode.service import OFFLINE_NOTE
from fincredit.web.deps import SessionDep

router = APIRouter(tags=["苏信码"])

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_PAGE = _ENV.from_string("""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>苏信码核验 — {{ r.status_label }}</title>
<style>
 body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f6f8;color:#1f2933}
 main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 3px #0002}
 .banner{padding:1rem;border-radius:6px;font-size:1.25rem;font-weight:600;margin-bottom:1rem}
 .valid{background:#e3f9e5;color:#05400a}.outdated{background:#fffbea;color:#513c06}
 .revoked,.expired,.invalid{background:#ffe3e3;color:#610404}
 dl{display:grid;grid-template-columns:7rem 1fr;gap:.5rem 1rem}dt{color:#52606d}dd{margin:0}
 .grade{font-size:2rem;font-weight:700}.note{color:#52606d;font-size:.875rem;margin-top:1.5rem}
</style>
</head>
<body><main>
<h1>苏信码核验</h1>
<div class="banner {{ r.status }}" role="status">{{ r.status_label }}：{{ r.message }}</div>
{% if r.genuine %}
<dl>
 <dt>企业名称</dt><dd>{{ r.enterprise.name }}</dd>
 <dt>统一社会信用代码</dt><dd>{{ r.enterprise.uscc }}</dd>
 <dt>信用评价等级</dt><dd><span class="grade">{{ r.grade }}</span>{% if r.status != "valid" %}（码上等级，现已不作证明）{% endif %}</dd>
 {% if r.current_grade %}<dt>当前等级</dt><dd>{{ r.current_grade }}</dd>{% endif %}
 <dt>评价时间</dt><dd>{{ r.evaluated_at[:16].replace("T", " ") }}</dd>
 <dt>有效期至</dt><dd>{{ r.expires_at[:16].replace("T", " ") }}</dd>
 <dt>授权编号</dt><dd>{{ r.authorization_id }}</dd>
</dl>
{% endif %}
<p class="note">核验时间：{{ r.checked_at[:19].replace("T", " ") }}（北京时间）。评价结果由融资信用服务平台依据
《企业信用评价指引》作出，经企业授权展示（苏政办发〔2022〕59号第8条）。{{ offline_note }}
平台公钥见 <code>/api/v1/ledger/public-key</code>。</p>
</main></body></html>
""")


@router.get("/sucode/{token}", response_class=HTMLResponse, summary="苏信码公开核验页面", include_in_schema=True)
def sucode_page(token: str, session: SessionDep) -> HTMLResponse:
    result = service.verify_online(session, token[:4096])
    return HTMLResponse(_PAGE.render(r=result, offline_note=OFFLINE_NOTE),
                        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})
