"""The ``fincredit`` command line (typer + rich). Capabilities add sub-apps here."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from fincredit.cli_support import fail
from fincredit.logs import configure_logging
from fincredit.settings import get_settings

app = typer.Typer(help="fincredit — 融资信用服务平台及省级节点", no_args_is_help=True,
                  pretty_exceptions_enable=False)
token_app = typer.Typer(help="访问令牌", no_args_is_help=True)
app.add_typer(token_app, name="token")
err = Console(stderr=True)

# (module, attribute, name) of typer sub-apps and (module, attribute) of plain commands.
SUB_APPS: list[tuple[str, str, str]] = [
    ("fincredit.catalog.cli", "app", "catalog"),
    ("fincredit.collection.cli", "provider_app", "provider"),
    ("fincredit.institutions.cli", "app", "institution"),
    ("fincredit.ledger.cli", "app", "ledger"),
    ("fincredit.objections.calendar_cli", "app", "calendar"),
    ("fincredit.objections.cli", "app", "objection"),
    ("fincredit.sucode.cli", "app", "sucode"),
    ("fincredit.evaluation.model_cli", "app", "model"),
    ("fincredit.evaluation.cli", "app", "evaluate"),
    ("fincredit.web.operator_cli", "app", "operator"),
    ("fincredit.statistics.cli", "app", "statistics"),
]
COMMANDS: list[tuple[str, str]] = [("fincredit.collection.cli", "ingest"), ("fincredit.collection.cli", "quality")]
COMMANDS += [("fincredit.worker.cli", "worker_command"), ("fincredit.worker.cli", "jobs_command")]
COMMANDS += [("fincredit.synth.cli", "synth")]
COMMANDS += [("fincredit.statistics.cli", "report")]


@app.callback()
def _main() -> None:
    s = get_settings()
    configure_logging(s.log_level, s.log_json)


@app.command()
def init() -> None:
    """Create or migrate the database, load or upgrade the catalog, create signing keys if absent."""
    from fincredit.bootstrap import initialize

    result = initialize()
    s = get_settings()
    err.print(f"数据库已就绪：{s.resolved_database_url.split('@')[-1]}")
    for key, value in result.items():
        err.print(f"  {key}: {value}")


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., help="admin | provider | institution | enterprise | platform"),
    name: str = typer.Option(..., help="who the token is for"),
    subject: str = typer.Option("", help="provider code / institution id / USCC; defaults to NAME"),
) -> None:
    """Print a new bearer token (and nothing else) on stdout."""
    from fincredit.auth.service import issue_token
    from fincredit.db import session_scope
    from fincredit.errors import DomainError

    try:
        with session_scope() as session:
            raw, _row = issue_token(session, role=role, subject=subject or name, name=name)
    except DomainError as exc:
        fail(exc.message)
    sys.stdout.write(raw + "\n")


@app.command()
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1, help="API processes")) -> None:
    """Serve the API and the web UI (uvicorn with httptools and uvloop)."""
    import uvicorn

    # A generous health-check timeout: uvicorn's default (5 s) kills and respawns workers that are still
    # importing on a loaded machine, forever.
    uvicorn.run("fincredit.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                http="httptools", loop="uvloop", log_level="warning", access_log=False,
                timeout_worker_healthcheck=120)


# Steps `fincredit demo` runs between init and serve; capabilities append (name, callable(console)).
DEMO_STEPS: list[tuple[str, str]] = [("fincredit.demo", "load_demo_province")]
DEMO_STEPS += [("fincredit.web.operator_cli", "demo_operator")]


@app.command()
def demo(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
         enterprises: int = typer.Option(2000, help="size of the synthetic province"),
         no_serve: bool = typer.Option(False, "--no-serve", help="prepare everything, do not serve")) -> None:
    """The main job in one command: init, a small synthetic province, ingest, evaluate, serve."""
    from fincredit.auth.service import issue_token
    from fincredit.bootstrap import initialize
    from fincredit.db import session_scope

    if get_settings().log_level.upper() == "INFO":
        configure_logging("WARNING", get_settings().log_json)  # progress bars, not per-chunk logs
    initialize()
    for module_name, attr in DEMO_STEPS:
        getattr(importlib.import_module(module_name), attr)(err, enterprises)
    with session_scope() as session:
        raw, _ = issue_token(session, role="admin", subject="demo-operator", name="演示运营人员")
    err.print(f"运营人员令牌（Bearer）：[bold]{raw}[/bold]")
    if no_serve:
        return
    err.print(f"平台地址：http://{host}:{port}/   接口文档：http://{host}:{port}/docs")
    serve(host=host, port=port, workers=1)


def _register() -> None:
    for module_name, attr, name in SUB_APPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a capability not built yet
            if exc.name != module_name:
                raise
            continue
        app.add_typer(getattr(module, attr), name=name)
    for module_name, attr in COMMANDS:
        module = importlib.import_module(module_name)
        app.command(name=attr.replace("_", "-").removesuffix("-command"))(getattr(module, attr))


_register()
