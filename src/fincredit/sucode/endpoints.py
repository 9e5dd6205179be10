"""The 苏信码 API: the enterprise's code (PNG, SVG or token) and the public JSON verification."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from fincredit.sucode import service
from fincredit.web.deps import EnterpriseDep, SessionDep

router = APIRouter(tags=["苏信码"])


@router.get("/me/sucode", summary="本企业的苏信码（需有效的苏信码展示授权）",
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}, "application/json": {}}}})
def my_sucode(request: Request, session: SessionDep, me: EnterpriseDep,
              format: Literal["png", "svg", "token"] = Query("png", description="png | svg | token")) -> Response:
    issued = service.issue(session, me)
    url = service.code_url(issued.token, str(request.base_url))
    headers = {"Cache-Control": "no-store", "X-Sucode-Expires-At": issued.claims.expires_at.isoformat()}
    if format == "png":
        return Response(service.qr_png(url), media_type="image/png", headers=headers)
    if format == "svg":
        return Response(service.qr_svg(url), media_type="image/svg+xml", headers=headers)
    return JSONResponse(service.issued_dict(issued, url), headers=headers)


@router.get("/sucode/verify", summary="核验苏信码（公开，无需登录）：真实、当前、已撤销或已过期")
def verify(session: SessionDep, token: str = Query(min_length=1, max_length=4096,
                                                   description="苏信码内容（令牌或完整网址）")) -> dict:
    return service.verify_online(session, token)
