"""Evaluation results (信用评价结果), the runs that produced them, and the guideline versions used.

An enterprise's evaluations form its history: a new evaluation marks the previous one
``is_current = false`` and never deletes it, so a result can be explained later from its stored
bins and the guideline version it names (kept in ``evaluation_guidelines``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow


class GuidelineVersion(Base):
    """One published version of the guideline (评价指引), stored whole when first used."""

    __tablename__ = "evaluation_guidelines"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvaluationRun(Base):
    """One evaluation run: every registered enterprise (full) or a given few (incremental)."""

    __tablename__ = "evaluation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # full | incremental
    guideline_version: Mapped[str] = mapped_column(ForeignKey("evaluation_guidelines.version"))
    as_of: Mapped[dt.date]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    enterprises: Mapped[int] = mapped_column(default=0)
    thin_files: Mapped[int] = mapped_column(default=0)
    grade_counts: Mapped[dict] = mapped_column(default=dict)
    seconds: Mapped[float | None]
    triggered_by: Mapped[str] = mapped_column(String(100), default="")


class Evaluation(Base):
    """The basic evaluation (基础性信用评价) of one enterprise by one run.

    ``bins``: one digit per indicator in guideline order (0 = no data, k = bin k, 1-based);
    ``reasons``: ``{"against": [[indicator, bin, points_lost], …], "for": [indicator, bin,
    points_earned] | null}``; ``coverage``: the categories that contributed data.
    """

    __tablename__ = "evaluations"
    # No index mentions is_current, and pages are half filled, so that retiring a run's 1.5 million
    # rows (is_current → false) is a HOT update in place, without index work; the run_id BRIN index
    # (rows arrive in run order) finds the current rows — all in runs since the last full run —
    # without scanning the history. One current row per enterprise is kept by serialising result
    # writers (repository.lock_results).
    __table_args__ = (
        Index("ix_evaluations_uscc", "uscc", "evaluated_at"),
        Index("ix_evaluations_run", "run_id", postgresql_using="brin"),
        # scans of new results by time (monitoring's grade-downgrade rule): rows arrive in time order
        Index("ix_evaluations_evaluated_at", "evaluated_at", postgresql_using="brin"),
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # The run (evaluation_runs.id). Not a foreign key: a full run COPYs 1.5 million rows and a
    # per-row referential check would cost more than the insert; the service writes the run first.
    run_id: Mapped[int] = mapped_column(BigInteger)
    uscc: Mapped[str] = mapped_column(String(18))
    guideline_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(SmallInteger)
    grade: Mapped[str] = mapped_column(String(8))
    thin_file: Mapped[bool]
    bins: Mapped[str] = mapped_column(String(100))
    # JSON, not JSONB, on PostgreSQL: written in bulk and read back whole, never queried inside;
    # COPY then skips building the binary form (a third of the write cost of a full run).
    reasons: Mapped[dict] = mapped_column(JSON)
    coverage: Mapped[list] = mapped_column(JSON)
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_current: Mapped[bool] = mapped_column(default=True)


class Scenario(Base):
    """A scenario evaluation (场景评价, §9) an institution configured: the guideline with its own
    indicator weights, for enterprises of given size classes and industries (and a product)."""

    __tablename__ = "evaluation_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    size_classes: Mapped[list] = mapped_column(default=list)  # empty: any size
    industry_prefixes: Mapped[list] = mapped_column(default=list)  # GB/T 4754 code prefixes; empty: any
    product: Mapped[str | None] = mapped_column(String(100))
    weights: Mapped[dict] = mapped_column(default=dict)  # indicator id → weight (0 drops it)
    guideline_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
