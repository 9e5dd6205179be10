"""``fincredit synth``: write a deterministic synthetic province (see ``province.generate``)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fincredit.synth.province import generate


def synth(
    enterprises: int = typer.Option(..., "--enterprises", min=1, help="number of enterprises (企业户数)"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    seed: int = typer.Option(42, "--seed", help="random seed; the same seed and size give identical files"),
    months: int = typer.Option(3, "--months", min=1, max=120, help="months of the monthly categories"),
    as_of: str = typer.Option("2026-10", "--as-of", help="reference month YYYY-MM (the last reported month)"),
    defects: bool = typer.Option(False, "--defects", help="plant a few deliberate defects for collection tests"),
) -> None:
    """Write a synthetic province: the registration base, one file per catalog category, manifest.json."""
    console = Console(stderr=True)
    started = time.perf_counter()
    columns = (TextColumn("[bold]合成省份[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def report(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        try:
            manifest = generate(out, enterprises, seed=seed, months=months, as_of=as_of, defects=defects,
                                progress=report)
        except ValueError as exc:
            console.print(f"[red]错误：[/red]{exc}")
            raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    typer.echo(f"已生成 {manifest.enterprises} 家企业、{len(manifest.files)} 个文件、{manifest.total_rows} 行、"
               f"{manifest.total_bytes / 1e6:.1f} MB → {out}（种子 {seed}，用时 {elapsed:.1f} 秒）")
