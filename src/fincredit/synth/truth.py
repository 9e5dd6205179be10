"""Ground truth of a synthetic province: ``truth.csv`` and the manifest's ``truth`` section.

``truth.csv`` (UTF-8, one row per enterprise, in registration-base order): ``uscc``, ``health``
(the latent score, higher is better), ``risky`` (1 for the weakest decile by health),
``defaulted_within_12m`` (a later default drawn with probability ``sigmoid(-3.8 - 1.5·health)``,
for model validation), ``size``, ``status``, ``district``, ``industry``, then one 0/1 column per
coverage flag and planted event (see ``events.py``; a person-level event such as
``dishonest_rep`` is shown on every firm of that legal representative).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from fincredit.synth.events import COVERAGE, EVENTS, NEGATIVE_EVENTS
from fincredit.synth.population import Population

RISKY_DEFINITION = ("the weakest decile of enterprises by latent health (health <= its 10th percentile); "
                    "planted negative events are drawn with probability rising as health falls")
ACCOUNTS = 8


def write_truth(pop: Population, directory: Path) -> dict[str, Any]:
    f = pop.firms
    flags = [*COVERAGE, *(e.name for e in EVENTS)]
    table = f.select(
        "uscc",
        pl.col("health").round(4),
        pl.col("risky").cast(pl.UInt8),
        pl.col("defaulted").cast(pl.UInt8).alias("defaulted_within_12m"),
        "size", "status", "district", "industry",
        *(pl.col(name).cast(pl.UInt8) for name in flags),
    )
    path = directory / "truth.csv"
    table.write_csv(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    risky = f.filter(pl.col("risky"))["uscc"].to_list()
    return {
        "path": path.name,
        "rows": table.height,
        "sha256": digest,
        "columns": table.columns,
        "risky_definition": RISKY_DEFINITION,
        "risky_count": len(risky),
        "risky": risky,
        "defaulted_count": int(f["defaulted"].sum()),
        "negative_events": list(NEGATIVE_EVENTS),
        "accounts": accounts(pop),
    }


def accounts(pop: Population) -> list[dict[str, Any]]:
    """A handful of active enterprises with their legal representative, for real-name registration
    in tests: six that are not risky and two that are (fewer if the province is tiny)."""
    f = pop.firms.filter(pl.col("active"))
    chosen = pl.concat([f.filter(~pl.col("risky")).head(ACCOUNTS - 2), f.filter(pl.col("risky")).head(2)])
    reps = pop.persons[chosen["person"].to_numpy()]
    return [
        {"uscc": row["uscc"], "name": row["name"], "legal_representative_name": rep["name"],
         "legal_representative_id_type": "居民身份证", "legal_representative_id": rep["id_number"],
         "risky": row["risky"], "status": row["status"]}
        for row, rep in zip(chosen.iter_rows(named=True), reps.iter_rows(named=True), strict=True)
    ]
