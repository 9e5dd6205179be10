"""The basic evaluation (基础性信用评价, §9): run it, read it, explain it. Never commits.

``evaluate_all(session)`` evaluates every registered enterprise (存续/在业) with the current
guideline; ``evaluate_enterprises(session, usccs)`` re-evaluates only the given ones — collection
calls it after a batch brought new records about them (and the enterprise registry after a base
batch). Each run stores the guideline version it used, marks the enterprises' previous results
not current (they stay as history) and writes the new ones in bulk.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.db import CACHE_CLEARERS, as_utc, utcnow
from fincredit.errors import Conflict
from fincredit.evaluation import repository
from fincredit.evaluation.engine import breakdown, decode_bins, explain, score_frame
from fincredit.evaluation.features import read_features
from fincredit.evaluation.guideline import Guideline, parse_guideline, read_document
from fincredit.evaluation.models import Evaluation, EvaluationRun, GuidelineVersion
from fincredit.logs import get_logger
from fincredit.objections.markers import mark_reasons, open_objection_categories

log = get_logger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Above this many enterprises an incremental run reads whole categories and filters in memory.
BULK_THRESHOLD = 20_000
Progress = Callable[[str], None]


def model_version(version: str) -> str:
    return f"guideline-{version}"


def today() -> dt.date:
    return utcnow().astimezone(SHANGHAI).date()


# Parsed guidelines: the current one per catalog version, stored ones per (version, hash).
_CURRENT: dict[int, Guideline] = {}
_STORED: dict[tuple[str, str], Guideline] = {}


def _clear() -> None:
    _CURRENT.clear()
    _STORED.clear()


CACHE_CLEARERS.append(_clear)


def current_guideline(session: Session) -> Guideline:
    """The shipped guideline, validated against the current (run-time adjustable) catalog."""
    catalog = get_catalog(session)
    g = _CURRENT.get(catalog.id)
    if g is None:
        g = _CURRENT[catalog.id] = parse_guideline(read_document(), catalog.categories)
    return g


def guideline_of(session: Session, version: str) -> Guideline:
    """The guideline a stored result was made with (explanations use it, not the current one)."""
    row = repository.guideline_version(session, version)
    if row is None:
        return current_guideline(session)
    g = _STORED.get((row.version, row.content_hash))
    if g is None:
        g = _STORED[(row.version, row.content_hash)] = Guideline.model_validate(row.document)
    return g


def record_guideline(session: Session, g: Guideline) -> None:
    """Keep each version used; the same version with different content is refused."""
    row = repository.guideline_version(session, g.version)
    digest = g.content_hash()
    if row is None:
        repository.add(session, GuidelineVersion(version=g.version, content_hash=digest,
                                                 document=g.model_dump(mode="json")))
    elif row.content_hash != digest:
        raise Conflict(f"评价指引第 {g.version} 版的内容已改变但版本号未变，请先修改 version",
                       code="guideline_changed_without_version")


@dataclass
class RunSummary:
    run_id: int
    kind: str
    guideline_version: str
    as_of: dt.date
    enterprises: int
    thin_files: int
    grade_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def evaluate_all(session: Session, *, as_of: dt.date | None = None, triggered_by: str = "",
                 progress: Progress | None = None, snapshot_reads: bool = False) -> RunSummary:
    """Evaluate every registered enterprise (存续/在业) with the current guideline.

    ``snapshot_reads`` (PostgreSQL; ``fincredit evaluate`` uses it): read the records on a second
    connection — a snapshot of what is committed — while this transaction retires the previous
    results concurrently. Only for a session that has not itself changed records or enterprises.
    """
    return _run(session, None, as_of=as_of, triggered_by=triggered_by, progress=progress,
                snapshot_reads=snapshot_reads)


def evaluate_enterprises(session: Session, usccs: Sequence[str], *, as_of: dt.date | None = None,
                         triggered_by: str = "", progress: Progress | None = None) -> RunSummary:
    """Re-evaluate only the given enterprises (those no longer 存续/在业 lose their current result)."""
    wanted = sorted({u.strip().upper() for u in usccs if u and u.strip()})
    return _run(session, wanted, as_of=as_of, triggered_by=triggered_by, progress=progress)


def _run(session: Session, usccs: list[str] | None, *, as_of: dt.date | None, triggered_by: str,
         progress: Progress | None, snapshot_reads: bool = False) -> RunSummary:
    started = time.perf_counter()
    tick = progress or (lambda label: None)
    g = current_guideline(session)
    record_guideline(session, g)
    catalog = get_catalog(session)
    as_of = as_of or today()
    now = utcnow()
    since_run = repository.last_full_run(session)
    run = EvaluationRun(kind="full" if usccs is None else "incremental", guideline_version=g.version, as_of=as_of,
                        started_at=now, triggered_by=triggered_by[:100])
    repository.add(session, run)
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    retire = _retire_in_background(session, usccs, since_run) if snapshot_reads else None
    try:
        features = _features(session, g, catalog.categories, as_of, usccs, tick, separate=retire is not None)
        timings["read_features"] = time.perf_counter() - mark
        mark = time.perf_counter()
        results = score_frame(features, g) if features.height else pl.DataFrame()
        timings["score"] = time.perf_counter() - mark
        tick("score")
    finally:
        if retire is not None:
            retire.result()  # the session is the main thread's again (raises the UPDATE's error)
    mark = time.perf_counter()
    if retire is None:
        repository.lock_results(session)
        repository.mark_not_current(session, usccs, since_run)
    if results.height:
        repository.write_results(session, results, run_id=run.id, version=g.version, evaluated_at=now)
    timings["write"] = time.perf_counter() - mark
    tick("write")
    counts = dict(results.get_column("grade").value_counts().iter_rows()) if results.height else {}
    run.enterprises = results.height
    run.thin_files = int(results.get_column("thin_file").sum()) if results.height else 0
    run.grade_counts = {x.grade: int(counts.get(x.grade, 0)) for x in g.grades}
    run.finished_at = utcnow()
    run.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    log.info("evaluation_run", run_id=run.id, kind=run.kind, enterprises=run.enterprises, seconds=run.seconds)
    return RunSummary(run.id, run.kind, g.version, as_of, run.enterprises, run.thin_files, run.grade_counts,
                      run.seconds, {k: round(v, 3) for k, v in timings.items()})


def _retire_in_background(session: Session, usccs: list[str] | None, since_run: int) -> Future[int] | None:
    """A full run on PostgreSQL retires the previous results (one UPDATE of every current row) on
    the run's own connection in a thread, while the features are read on a second connection; the
    main thread does not touch the session until the UPDATE is done."""
    if usccs is not None or session.connection().dialect.name != "postgresql":
        return None

    def retire() -> int:
        repository.lock_results(session)
        return repository.mark_not_current(session, None, since_run)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation-retire") as pool:
        return pool.submit(retire)


def _features(session: Session, g: Guideline, categories: dict, as_of: dt.date, usccs: list[str] | None,
              tick: Progress, *, separate: bool) -> pl.DataFrame:
    if usccs is not None and not usccs:
        return pl.DataFrame()
    subset = usccs if usccs is None or len(usccs) <= BULK_THRESHOLD else None
    if not separate:
        features = read_features(session.connection(), g, categories, as_of, subset, progress=tick)
    else:  # one consistent snapshot of the records, apart from the run's own transaction
        engine = session.get_bind()
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as reader:  # type: ignore[union-attr]
            try:
                features = read_features(reader, g, categories, as_of, subset, progress=tick)
            finally:
                reader.rollback()
    if usccs is not None and subset is None:
        features = features.filter(pl.col("uscc").is_in(usccs))
    return features


# -- reading -------------------------------------------------------------------------------------

def coverage_view(g: Guideline, covered: list[str], thin: bool) -> dict[str, Any]:
    key = g.thin_file.key_categories
    return {"categories_with_data": covered, "categories_used": g.categories(),
            "key_categories": key, "key_categories_with_data": [c for c in key if c in covered],
            "min_key_categories": g.thin_file.min_key_categories, "thin_file": thin}


def evaluation_view(session: Session, row: Evaluation, *, details: bool = True) -> dict[str, Any]:
    """The API shape of a stored evaluation, explained with the guideline version it names."""
    g = guideline_of(session, row.guideline_version)
    out: dict[str, Any] = {
        "uscc": row.uscc,
        "score": row.score,
        "score_range": [g.score.min, g.score.max],
        "grade": row.grade,
        "grade_note": g.thin_file.note if row.thin_file else None,
        "reasons": mark_reasons(explain(g, row.reasons or {}), g, open_objection_categories(session, row.uscc)),
        "coverage": coverage_view(g, list(row.coverage or []), row.thin_file),
        "thin_file": row.thin_file,
        "model_version": model_version(row.guideline_version),
        "guideline_version": row.guideline_version,
        "evaluated_at": as_utc(row.evaluated_at).isoformat(),
        "is_current": row.is_current,
    }
    if details:
        out["dimensions"] = breakdown(g, decode_bins(row.bins))
    return out


def current_evaluation(session: Session, uscc: str) -> Evaluation | None:
    return repository.current(session, uscc)


def evaluation_history(session: Session, uscc: str, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    return [evaluation_view(session, row, details=False) for row in repository.history(session, uscc, limit, offset)]


def distribution(session: Session) -> dict[str, Any]:
    g = current_guideline(session)
    grades, thin = repository.distribution(session)
    ordered = {x.grade: grades.pop(x.grade, 0) for x in g.grades}
    ordered.update(grades)  # grades of an older guideline, if any remain current
    last = repository.runs(session, 1)
    return {"guideline_version": g.version, "model_version": model_version(g.version), "total": sum(ordered.values()),
            "grades": ordered, "thin_files": thin,
            "last_run": run_view(last[0]) if last else None}


def run_view(run: EvaluationRun) -> dict[str, Any]:
    return {"id": run.id, "kind": run.kind, "guideline_version": run.guideline_version, "as_of": run.as_of.isoformat(),
            "started_at": as_utc(run.started_at).isoformat(),
            "finished_at": as_utc(run.finished_at).isoformat() if run.finished_at else None,
            "enterprises": run.enterprises, "thin_files": run.thin_files, "grade_counts": run.grade_counts,
            "seconds": run.seconds}


def list_runs(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    return [run_view(r) for r in repository.runs(session, limit)]
