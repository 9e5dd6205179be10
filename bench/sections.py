"""Writing a benchmark's section into docs/benchmarks.md without touching the other sections."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, text: str) -> None:
    """Replace the section that starts with the line ``heading`` (up to the next ``## `` heading) with
    ``text``, or append ``text`` when there is no such section; everything else is kept."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# Benchmarks", ""]
    start = next((i for i, ln in enumerate(lines) if ln.strip() == heading), None)
    new = text.rstrip("\n").splitlines()
    if start is None:
        lines = [*lines, *([""] if lines and lines[-1] else []), *new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines = [*lines[:start], *new, *([""] if end < len(lines) else []), *lines[end:]]
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
