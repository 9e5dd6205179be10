"""``fincredit operator``: accounts of the management portal (password + TOTP second factor)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from fincredit.cli_support import fail
from fincredit.errors import DomainError

app = typer.Typer(help="管理端运营人员账户（密码 + 动态口令）", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _print_secret(username: str, secret: str) -> None:
    from fincredit.web.operators import provisioning_uri

    sys.stdout.write(f"otpauth URI: {provisioning_uri(username, secret)}\n")
    sys.stdout.write(f"TOTP secret: {secret}\n")
    err.print("请立即将上述口令种子录入身份验证器（如手机令牌）；它不会再次显示。", highlight=False)


@app.command("create")
def create(name: str = typer.Argument(..., help="运营人员用户名"),
           password: str = typer.Option(..., prompt="密码", hide_input=True, confirmation_prompt=True,
                                        envvar="FINCREDIT_OPERATOR_PASSWORD",
                                        help="至少 10 位，含三类字符（也可用环境变量 FINCREDIT_OPERATOR_PASSWORD）")) -> None:
    """Create an operator and print the TOTP provisioning URI and secret, once."""
    from fincredit.db import session_scope
    from fincredit.web.operators import create_operator

    try:
        with session_scope() as session:
            row, secret = create_operator(session, name, password)
            username = row.username
    except DomainError as exc:
        fail(exc.message)
    _print_secret(username, secret)


@app.command("reset-totp")
def reset_totp_command(name: str = typer.Argument(..., help="运营人员用户名")) -> None:
    """Issue a new TOTP secret (the old authenticator stops working) and print it once."""
    from fincredit.db import session_scope
    from fincredit.web.operators import reset_totp

    try:
        with session_scope() as session:
            row, secret = reset_totp(session, name)
            username = row.username
    except DomainError as exc:
        fail(exc.message)
    _print_secret(username, secret)


@app.command("unlock")
def unlock_command(name: str = typer.Argument(..., help="运营人员用户名")) -> None:
    """Lift a lock-out after repeated failed log-ins."""
    from fincredit.db import session_scope
    from fincredit.web.operators import unlock

    try:
        with session_scope() as session:
            unlock(session, name)
    except DomainError as exc:
        fail(exc.message)
    out.print(f"已解除锁定：{name}", highlight=False)


@app.command("list")
def list_command() -> None:
    """List operators."""
    from fincredit.db import as_utc, session_scope, utcnow
    from fincredit.web.formatting import local_time
    from fincredit.web.operators import list_operators

    table = Table("用户名", "创建时间", "最近登录", "状态")
    with session_scope() as session:
        for row in list_operators(session):
            locked = row.locked_until is not None and as_utc(row.locked_until) > utcnow()
            state = "已停用" if row.disabled else ("已锁定" if locked else "正常")
            table.add_row(row.username, local_time(row.created_at), local_time(row.last_login_at) or "—", state)
    out.print(table)


def demo_operator(console: Console, _enterprises: int) -> None:
    """``fincredit demo`` step: a management-portal account ``demo`` with a fresh password and TOTP secret."""
    import secrets

    from fincredit.db import session_scope
    from fincredit.errors import Conflict
    from fincredit.web.operators import create_operator, provisioning_uri, reset_password, reset_totp

    password = f"Jsxy-{secrets.token_urlsafe(9)}7a"
    with session_scope() as session:
        try:
            row, secret = create_operator(session, "demo", password)
        except Conflict:  # a second demo run: new credentials for the same account
            session.rollback()
            row, secret = reset_totp(session, "demo")
            reset_password(session, "demo", password)
    console.print(f"管理端（/login/operator）用户名 [bold]{row.username}[/bold]  密码 [bold]{password}[/bold]  "
                  f"动态口令种子 [bold]{secret}[/bold]", highlight=False, soft_wrap=True)
    console.print(f"  {provisioning_uri(row.username, secret)}", highlight=False, soft_wrap=True)
