"""``fincredit sucode verify TOKEN --public-key B64``: check a 苏信码 offline (signature and expiry).

Needs no server and no database: only this module, ``sucode.token`` (stdlib + cryptography) and
the platform's published public key (``GET /api/v1/ledger/public-key`` → ``key``). Offline, a
revoked authorization cannot be seen; the output says so.
"""

from __future__ import annotations

import datetime as dt
import json

import typer

from fincredit.sucode import token as sucode_token

app = typer.Typer(help="苏信码：离线核验", no_args_is_help=True)
OFFLINE_NOTE = "离线核验只能检查签名和有效期；授权是否已被企业撤销须在线查询平台。"


@app.command("verify")
def verify(token: str = typer.Argument(..., help="苏信码内容：令牌或扫码得到的完整网址"),
           public_key: str = typer.Option(..., "--public-key", help="平台 Ed25519 公钥（Base64，32 字节）")) -> None:
    """Verify TOKEN offline; prints JSON, exit 0 when genuine and unexpired, 1 otherwise."""
    now = dt.datetime.now(dt.UTC)
    try:
        key = sucode_token.load_public_key(public_key)
        verified = sucode_token.verify(token, key, now)
    except sucode_token.TokenError as exc:
        typer.echo(json.dumps({"valid": False, "status": "invalid", "reason_code": exc.code, "message": exc.message,
                               "note": OFFLINE_NOTE}, ensure_ascii=False, indent=2))
        raise typer.Exit(1) from None
    status = "expired" if verified.expired else "signature_valid"
    message = ("签名有效，但苏信码已过期" if verified.expired else "签名有效且在有效期内（是否已撤销须在线核验）")
    typer.echo(json.dumps({"valid": not verified.expired, "status": status, "message": message,
                           "claims": verified.claims.as_dict(), "note": OFFLINE_NOTE},
                          ensure_ascii=False, indent=2))
    raise typer.Exit(0 if not verified.expired else 1)
