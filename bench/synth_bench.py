"""Synthetic province benchmark: ``fincredit synth`` at province scale.

    uv run python bench/synth_bench.py --enterprises 1500000 --months 12 [--report docs/benchmarks.md]

Generates into a temporary directory (removed afterwards unless ``--keep DIR``) and reports wall
time, rows and bytes written (per second), the largest files and the peak resident memory. The
goal is 1.5 million enterprises (the notice's target population) with 12 months of monthly
records in at most 10 minutes on a 2-core machine; a smaller run is extrapolated linearly.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sections import replace_section  # noqa: E402

GOAL_ENTERPRISES = 1_500_000
GOAL_SECONDS = 600
NOTE = ("The generator is `src/fincredit/synth/` (`fincredit synth`): the registration base and one provider "
        "file per catalog category, streamed per 50,000 enterprises. Wall time depends on what else runs on this "
        "shared machine; the CPU time of the process (all its threads: polars, numpy and the writer thread that "
        "transcodes, hashes and writes) is the work itself, so on an otherwise idle 2-core machine the wall time "
        "is at most about the CPU time.")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(enterprises: int, months: int, seed: int, keep: Path | None) -> dict[str, object]:
    from fincredit.synth import generate

    out = keep or Path(tempfile.mkdtemp(prefix="synth-bench-"))
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), _cpu()
    manifest = generate(out, enterprises, seed=seed, months=months)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
    load_after = os.getloadavg()[0]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    largest = sorted(manifest.files, key=lambda f: f.bytes, reverse=True)[:5]
    truth_bytes = (out / "truth.csv").stat().st_size
    if keep is None:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "enterprises": enterprises, "months": months, "seconds": seconds, "cpu": cpu, "rows": manifest.total_rows,
        "bytes": manifest.total_bytes, "truth_bytes": truth_bytes, "files": len(manifest.files),
        "peak_rss_mib": peak_kib / 1024, "load": (load_before, load_after),
        "largest": [(f.path, f.rows, f.bytes) for f in largest],
    }


def render(r: dict, command: str) -> str:
    scale = GOAL_ENTERPRISES / r["enterprises"]
    projected = r["seconds"] * scale
    measured = r["enterprises"] >= GOAL_ENTERPRISES
    lines = [
        "## Synthetic province",
        "",
        NOTE,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; load average "
        f"{r['load'][0]:.1f} before / {r['load'][1]:.1f} after the run (other work shared the CPUs).",
        "",
        "| measure | result | goal |",
        "|---|---|---|",
        f"| enterprises × months | {r['enterprises']:,} × {r['months']} | 1,500,000 × 12 |",
        f"| wall time | {r['seconds']:.0f} s | ≤ {GOAL_SECONDS} s at 1.5 M |",
        f"| CPU time (all threads) | {r['cpu']:.0f} s, i.e. {r['cpu'] / r['seconds']:.2f} cores busy | |",
    ]
    if not measured:
        lines.append(f"| projected to 1.5 M (linear) | {projected:.0f} s | ≤ {GOAL_SECONDS} s |")
    lines += [
        f"| records written | {r['rows']:,} in {r['files']} files ({r['rows'] / r['seconds']:,.0f} rows/s) | |",
        f"| output size | {r['bytes'] / 1e9:.2f} GB (+ truth.csv {r['truth_bytes'] / 1e6:.0f} MB), "
        f"{r['bytes'] / 1e6 / r['seconds']:.0f} MB/s | |",
        f"| peak resident memory | {r['peak_rss_mib']:,.0f} MiB | bounded (streamed per 50 000 enterprises) |",
        "",
        "Largest files: " + "; ".join(f"`{p}` {rows:,} rows, {b / 1e6:,.0f} MB" for p, rows, b in r["largest"]) + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None, help="generate into DIR and keep it")
    parser.add_argument("--report", type=Path, default=None, help="write the '## Synthetic province' section here")
    args = parser.parse_args()
    result = run(args.enterprises, args.months, args.seed, args.keep)
    command = "uv run python bench/synth_bench.py " + " ".join(sys.argv[1:])
    if args.report:
        command = command.replace(f" --report {args.report}", "")
    section = render(result, command)
    print(section)
    if args.report:
        replace_section(args.report, "## Synthetic province", section)


if __name__ == "__main__":
    main()
