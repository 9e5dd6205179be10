"""What every ``fincredit`` command shares: the error console, failing with a Chinese message, and
the actor name recorded for changes made from the command line."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)


def fail(message: str, code: int = 1, details: object = None) -> NoReturn:
    """Print ``错误：message`` (and a validation error's field list) on stderr and exit with ``code``."""
    err.print(f"[red]错误：[/red]{message}", highlight=False)
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict):
                err.print(f"  - {item.get('field') or '(整体)'}：{item.get('message')}", highlight=False)
    raise typer.Exit(code)


def cli_actor() -> str:
    """``cli:<login name>`` for audit fields, ``cli`` when the login name cannot be read."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
