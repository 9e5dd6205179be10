"""``manifest.json`` of a synthetic province: what was generated, where, and the ground truth.

Schema (version 1)::

    {
      "schema": "fincredit.synth/1",
      "seed": 42, "enterprises": 2000, "as_of": "2026-10", "months": 3, "defects": false,
      "catalog_hash": "<sha256 of the catalog used>",
      "files": [{"category", "name", "provider", "provider_name", "path", "format", "encoding",
                 "header_style", "date_style", "rows", "bytes", "sha256"}, ...],   # base, 1 … 37
      "truth": {"path": "truth.csv", "rows", "sha256", "columns", "risky_definition",
                "risky_count", "risky": [USCC, ...], "defaulted_count",
                "negative_events": [...], "accounts": [{uscc, name, legal_representative_name,
                "legal_representative_id_type", "legal_representative_id", "risky", "status"}, ...]},
      "planted_defects": [{"category", "path", "record", "row", "field", "kind", "value"}, ...]
    }

``path`` is relative to the manifest's directory. ``encoding`` is ``gbk``, ``utf-8`` or
``utf-8-sig`` (UTF-8 with BOM); ``null`` for XLSX. A defect's ``record`` is the 1-based data row
(the header not counted), ``row`` the row number a reader reports (CSV/XLSX count the header). Nothing in it depends on the time of generation, so it is byte-identical too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "fincredit.synth/1"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    category: str
    name: str
    provider: str
    provider_name: str
    path: str
    format: str
    encoding: str | None
    header_style: str
    date_style: str
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    seed: int
    enterprises: int
    as_of: str
    months: int
    defects: bool
    catalog_hash: str
    files: list[ManifestFile]
    truth: dict[str, Any]
    planted_defects: list[dict[str, Any]] = field(default_factory=list)
    directory: Path | None = None  # where it was written (not serialized)

    def file(self, category: str) -> ManifestFile:
        return next(f for f in self.files if f.category == category)

    def path_of(self, category: str) -> Path:
        base = self.directory or Path(".")
        return base / self.file(category).path

    @property
    def total_rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        data = {"schema": SCHEMA, **asdict(self)}
        data.pop("directory")
        return data

    def write(self, directory: Path) -> Path:
        path = directory / "manifest.json"
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        self.directory = directory
        return path

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        path = Path(path)
        if path.is_dir():
            path = path / "manifest.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("schema", None) != SCHEMA:
            raise ValueError("not a fincredit synth manifest")
        data["files"] = [ManifestFile(**f) for f in data["files"]]
        return cls(**data, directory=path.parent)
