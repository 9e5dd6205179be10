"""Same seed and size → byte-identical output; another seed → other data."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fincredit.synth import generate


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 300, seed=5, months=2, defects=True)
    second = generate(tmp_path / "b", 300, seed=5, months=2, defects=True)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b  # every data file, truth.csv and manifest.json
    assert len(a) == len(first.files) + 2
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]
    # the manifest's hashes are those of the files on disk
    assert all(a[f.path] == f.sha256 for f in first.files)
    assert any(f.format == "xlsx" for f in first.files)  # XLSX, zipped with fixed timestamps, too


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    one = generate(tmp_path / "a", 300, seed=5, months=2)
    two = generate(tmp_path / "b", 300, seed=6, months=2)
    assert one.file("base").sha256 != two.file("base").sha256
    changed = sum(x.sha256 != y.sha256 for x, y in zip(one.files, two.files, strict=True))
    assert changed == len(one.files)
    assert one.truth["risky"] != two.truth["risky"]
