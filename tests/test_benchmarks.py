"""Every benchmark in bench/ still runs end to end, at a tiny scale, and writes its section of the
report (the province-scale runs are made by hand; this keeps the scripts working). On the
PostgreSQL pass the benchmarks that take a database run against the test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("FINCREDIT_TEST_DATABASE_URL")

# (script and tiny-scale arguments, the option naming a PostgreSQL server or None, headings written)
BENCHMARKS = [
    (["synth_bench.py", "--enterprises", "300", "--months", "1"], None, ["## Synthetic province"]),
    (["ingest_bench.py", "--rows", "1000"], "--pg-url", ["## Collection"]),
    (["evaluation_bench.py", "--enterprises", "300"], "--database-url", ["## Evaluation"]),
    (["statistics_bench.py", "--enterprises", "300", "--no-pdf"], "--database-url", ["## Statistics"]),
    (["ledger_bench.py", "--entries", "2000", "--batch", "500", "--proofs", "20"], "--database-url",
     ["## Ledger", "### PostgreSQL" if PG else "### SQLite"]),
    (["alert_latency_bench.py", "--watched", "50", "--rounds", "2", "--batch-rows", "20"], "--database-url",
     ["## Monitoring", "### PostgreSQL" if PG else "### SQLite"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "pg_option", "headings"), BENCHMARKS, ids=[b[0][0] for b in BENCHMARKS])
def test_benchmark_runs_and_reports(args: list[str], pg_option: str | None, headings: list[str],
                                    tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\n## Kept\n\nuntouched text\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "bench" / args[0]), *args[1:], "--report", str(report)]
    if PG and pg_option:
        command += [pg_option, PG]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINCREDIT_")}
    env["FINCREDIT_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    for heading in headings:
        assert f"\n{heading}\n" in text, text
    assert "## Kept\n\nuntouched text" in text  # the other sections stay as they were
    assert "|---" in text  # a table of figures was written


@pytest.mark.slow
def test_aggregate_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """bench/aggregate_bench.py needs a synthetic province on disk: made here at a tiny scale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINCREDIT_")}
    env["FINCREDIT_DATA_DIR"] = str(tmp_path / "data")
    synth = tmp_path / "synth"
    made = subprocess.run([str(Path(sys.executable).with_name("fincredit")), "synth", "--enterprises", "300", "--months", "1",
                           "--seed", "7", "--out", str(synth)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\n## Kept\n\nuntouched text\n", encoding="utf-8")
    command = [sys.executable, str(ROOT / "bench" / "aggregate_bench.py"), "--synth", str(synth), "--loans", "20",
               "--report", str(report)]
    if PG:
        command += ["--pg-url", PG, "--no-sqlite"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert "\n## Statistics aggregate: cost of its hooks on the bulk paths\n" in text, text
    assert "## Kept\n\nuntouched text" in text
    assert "|---" in text
