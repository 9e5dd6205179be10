"""``generate``: the deterministic synthetic province (合成省份).

Builds the population and its planted events, then walks it in chunks of ``CHUNK`` enterprises;
for each chunk every category's generator yields a polars frame that is conformed to the catalog
and appended to that category's file. Memory thus stays bounded by one chunk (the population
itself is a few hundred MB at 1.5 million enterprises). Each (category, chunk) has its own random
stream seeded from (seed, category, chunk), so output is byte-identical for the same seed, size,
reference month and month count, and a catalog change only affects the categories it touches.
Categories without a generator (added to the catalog later) get records for ~1 % of enterprises
with values filled by field type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fincredit.catalog.definitions import AnnexDocument, CategoryDef, canonical_hash, load_annex
from fincredit.synth import courts, credit, defects, honours, labour, property, registration, tax, utilities
from fincredit.synth.context import Chunk, conform
from fincredit.synth.events import plant
from fincredit.synth.formats import FileSpec, file_name, file_spec
from fincredit.synth.manifest import Manifest, ManifestFile
from fincredit.synth.population import Population, build_population, parse_as_of
from fincredit.synth.truth import write_truth
from fincredit.synth.writers import Pipeline, open_writer

CHUNK = 50_000
Generator = Callable[[Chunk], pl.DataFrame]
GENERATORS: dict[str, Generator] = {
    **registration.GENERATORS, **tax.GENERATORS, **courts.GENERATORS, **labour.GENERATORS,
    **utilities.GENERATORS, **honours.GENERATORS, **credit.GENERATORS, **property.GENERATORS,
}
Progress = Callable[[int, int, str], None]  # (steps done, total steps, what is being done)


def _generic(category: CategoryDef) -> Generator:
    def make(chunk: Chunk) -> pl.DataFrame:
        rng = chunk.rng(category.code)
        picked = rng.random(chunk.firms.height) < 0.01
        picked[: 3 if chunk.number == 0 else 0] = True
        return pl.DataFrame(chunk.subject(chunk.where(picked)))

    return make


def month_starts(as_of: str, months: int) -> list[np.datetime64]:
    last = np.datetime64(as_of, "M")
    return [(last - k).astype("datetime64[D]") for k in range(months - 1, -1, -1)]


@dataclass(frozen=True)
class Plan:
    """What to write: the categories, and per category its file spec and file name."""

    categories: list[CategoryDef]
    specs: dict[str, FileSpec]
    paths: dict[str, str]
    providers: dict[str, str]

    @classmethod
    def for_size(cls, enterprises: int, annex: AnnexDocument) -> Plan:
        categories = [c for c in annex.categories if not c.retired]
        specs = {c.code: file_spec(c.code, enterprises) for c in categories}
        paths = {c.code: file_name(c.code, c.provider, specs[c.code]) for c in categories}
        return cls(categories, specs, paths, annex.providers)


def generate(out_dir: str | Path, enterprises: int, seed: int = 42, months: int = 3, as_of: str = "2026-10",
             defects: bool = False, progress: Progress | None = None, *,
             catalog: AnnexDocument | None = None) -> Manifest:
    """Write a synthetic province of ``enterprises`` enterprises to ``out_dir`` (see the module
    docstring and ``manifest.py``) and return its manifest. ``catalog`` defaults to the current
    catalog (``load_annex()``)."""
    if enterprises < 1:
        raise ValueError("企业户数至少为 1")
    if not 1 <= months <= 120:
        raise ValueError("月数应在 1—120 之间")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reference = parse_as_of(as_of)
    as_of = f"{reference.year:04d}-{reference.month:02d}"
    annex = catalog or load_annex()
    plan = Plan.for_size(enterprises, annex)
    total = 2 + math.ceil(enterprises / CHUNK) * len(plan.categories)
    report = progress or (lambda done, total, label: None)
    report(0, total, "企业总体")
    pop = build_population(seed, enterprises, reference)
    pop.firms = pop.firms.with_columns(plant(pop)).with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int64))
    report(1, total, "企业总体")
    pipeline = Pipeline()
    try:
        files, planted = _write_files(pop, plan, out, month_starts(as_of, months), defects, pipeline,
                                      lambda done, label: report(done, total, label))
    finally:
        pipeline.close()
    truth = write_truth(pop, out)
    manifest = Manifest(seed=seed, enterprises=enterprises, as_of=as_of, months=months, defects=defects,
                        catalog_hash=canonical_hash(annex.model_dump(mode="json")), files=files, truth=truth,
                        planted_defects=planted)
    manifest.write(out)
    report(total, total, "完成")
    return manifest


def _write_files(pop: Population, plan: Plan, out: Path, starts: list[np.datetime64], with_defects: bool,
                 pipeline: Pipeline, report: Callable[[int, str], None]) -> tuple[list[ManifestFile], list[dict]]:
    writers = {
        c.code: open_writer(out / plan.paths[c.code], plan.specs[c.code],
                            [plan.specs[c.code].header(f.name) for f in c.fields], c.name, pop.as_of, pipeline)
        for c in plan.categories}
    planted: list[dict] = []
    done = 1
    for number in range(math.ceil(pop.size / CHUNK)):
        lo, hi = number * CHUNK, min(pop.size, (number + 1) * CHUNK)
        chunk = Chunk(pop, number, lo, hi, pop.firms.slice(lo, hi - lo), starts)
        for category in plan.categories:
            make = GENERATORS.get(category.code) or _generic(category)
            data = conform(category, make(chunk), chunk.rng("fill:" + category.code))
            if with_defects and number == 0:
                data, found = defects.plant(category.code, data, plan.paths[category.code],
                                            plan.specs[category.code].format)
                planted += found
            writers[category.code].write(data)
            done += 1
            report(done, category.name)
    files = []
    for category in plan.categories:
        written = writers[category.code].close()
        spec = plan.specs[category.code]
        files.append(ManifestFile(
            category=category.code, name=category.name, provider=category.provider,
            provider_name=plan.providers[category.provider], path=plan.paths[category.code], format=spec.format,
            encoding=spec.encoding, header_style=spec.header_style,
            date_style=spec.date_style if spec.format == "csv" else "iso", rows=written.rows, bytes=written.bytes,
            sha256=written.sha256))
    return files, planted
