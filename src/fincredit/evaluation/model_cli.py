"""``fincredit model train|evaluate``: scorecards on any CSV with a binary outcome (评分卡模型).

Only the evaluation result goes to stdout (one JSON object); summaries, warnings and errors go
to stderr, and a bad input exits with status 1 and a Chinese message, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape

from fincredit.evaluation.scorecard import NULL_VALUES, ScorecardError, evaluate, train, validate_model

app = typer.Typer(help="评分卡模型", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

ENCODINGS = ("utf-8-sig", "gb18030")
_NOT_TEXT = {b"PK\x03\x04": "Excel 或压缩文件", b"%PDF": "PDF 文件", b"\xd0\xcf\x11\xe0": "旧版 Excel 文件"}


def read_csv(path: Path) -> pl.DataFrame:
    """A CSV as a polars frame: UTF-8 (with or without BOM), else GB18030; `,` `;` tab or `|`."""
    if not path.is_file():
        raise ScorecardError("file_not_found", f"文件不存在：{path}")
    raw = path.read_bytes()
    for magic, kind in _NOT_TEXT.items():
        if raw.startswith(magic):
            raise ScorecardError("not_csv", f"{path.name} 看起来是{kind}，请另存为 CSV")
    if b"\x00" in raw[:65536]:
        raise ScorecardError("not_csv", f"{path.name} 不是文本 CSV 文件")
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ScorecardError("csv_encoding", f"无法识别 {path.name} 的编码，请使用 UTF-8 或 GB18030")
    if not text.strip():
        raise ScorecardError("csv_empty", f"{path.name} 是空文件")
    try:
        separator = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        separator = ","
    try:
        frame = pl.read_csv(io.BytesIO(text.encode()), separator=separator, infer_schema_length=None,
                            null_values=NULL_VALUES)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise ScorecardError("not_csv", f"无法按 CSV 解析 {path.name}：{str(exc).splitlines()[0]}") from exc
    if frame.height == 0:
        raise ScorecardError("csv_empty", f"{path.name} 只有表头，没有数据行")
    return frame


def load_model(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScorecardError("file_not_found", f"文件不存在：{path}")
    try:
        model = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScorecardError("model_invalid", f"模型文件不是有效的 JSON：{exc}") from exc
    return validate_model(model)


def _split(option: str | None) -> list[str] | None:
    return [c.strip() for c in option.split(",") if c.strip()] if option else None


def _reports_errors(command: Callable[..., None]) -> Callable[..., None]:
    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ScorecardError as exc:
            err.print(f"[red]错误：[/red]{escape(exc.message)} [dim]({exc.code})[/dim]")
            raise typer.Exit(1) from None

    return run


@app.command("train")
@_reports_errors
def train_command(
    data: Path = typer.Argument(..., help="training CSV (UTF-8 or GB18030)"),
    target: str = typer.Option(..., "--target", help="outcome column"),
    bad: str = typer.Option(..., "--bad", help="the outcome value that means bad (default, overdue)"),
    out: Path = typer.Option(..., "--out", help="where to write MODEL.json"),
    features: str = typer.Option(None, help="comma-separated feature columns (default: all others)"),
    exclude: str = typer.Option(None, help="comma-separated columns to leave out (ids, dates)"),
    categorical: str = typer.Option(None, help="comma-separated columns to treat as categorical"),
    numerical: str = typer.Option(None, help="comma-separated columns to treat as numerical"),
    min_iv: float = typer.Option(0.02, help="minimum information value for a feature to enter"),
    base_points: float = typer.Option(600, help="score at the base odds"),
    base_odds: float = typer.Option(50, help="good:bad odds at the base score"),
    pdo: float = typer.Option(20, help="points to double the odds"),
) -> None:
    """Train a scorecard on DATA.csv and write the self-contained MODEL.json."""
    frame = read_csv(data)
    model = train(frame, target, bad, features=_split(features), exclude=_split(exclude),
                  categorical=_split(categorical), numerical=_split(numerical), min_iv=min_iv,
                  base_points=base_points, base_odds=base_odds, pdo=pdo)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    t = model["training"]
    for warning in t["warnings"]:
        err.print(f"[yellow]注意：[/yellow]{escape(warning)}")
    err.print(f"模型 {model['model_version']} 已写入 {escape(str(out))}：{len(model['features'])} 个特征，"
              f"{t['n']} 行（坏样本率 {t['bad_rate']:.2%}），训练集 AUC {t['auc']:.3f}，KS {t['ks']:.3f}")


@app.command("evaluate")
@_reports_errors
def evaluate_command(
    model_path: Path = typer.Argument(..., metavar="MODEL.json", help="a model from `model train`"),
    data: Path = typer.Argument(..., help="labelled CSV to evaluate on"),
    target: str = typer.Option(None, "--target", help="outcome column (default: the model's)"),
    bad: str = typer.Option(None, "--bad", help="bad outcome value (default: the model's)"),
) -> None:
    """Print one JSON object: auc, ks, gini, psi (against the training scores), n, bad_rate."""
    model = load_model(model_path)
    result = evaluate(model, read_csv(data), target, bad)
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
