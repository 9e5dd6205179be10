"""Validation against ground truth: a synthetic province is generated, ingested by its providers
through collection, and evaluated; the firms the generator planted as risky must score visibly worse."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from fincredit.db import session_scope
from fincredit.evaluation import service

SIZE = 500


@pytest.fixture(scope="module")
def province(tmp_path_factory):  # type: ignore[no-untyped-def]
    from fincredit.synth import generate

    return generate(tmp_path_factory.mktemp("evaluation-province"), SIZE, seed=2024)


def auc(scores: np.ndarray, bad: np.ndarray) -> float:
    """Probability that a random good firm scores above a random bad one (ties count half)."""
    good_scores, bad_scores = scores[~bad], scores[bad]
    above = (good_scores[:, None] > bad_scores[None, :]).sum() + 0.5 * (good_scores[:, None] == bad_scores[None, :]).sum()
    return float(above / (len(good_scores) * len(bad_scores)))


def test_planted_risky_firms_score_worse(db, province) -> None:  # type: ignore[no-untyped-def]
    from fincredit.collection import provider_service
    from fincredit.collection import service as collection

    files = sorted(province.files, key=lambda f: f.category != "base")
    for f in files:
        with session_scope() as session:
            provider_service.ensure_catalog_provider(session, f.provider)
            result = collection.ingest(session, provider_code=f.provider, category_code=f.category,
                                       upload=collection.uploaded_file(province.directory / f.path))
            assert result.batch.status in ("accepted", "partially_accepted"), (f.category, result.batch.error_summary)
    year, month = (int(x) for x in province.as_of.split("-"))
    as_of = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)  # end of the reference month
    with session_scope() as session:
        summary = service.evaluate_all(session, as_of=as_of, triggered_by="ground-truth")
        from sqlalchemy import select

        from fincredit.evaluation.models import Evaluation

        rows = session.execute(select(Evaluation.uscc, Evaluation.score, Evaluation.thin_file)
                               .where(Evaluation.is_current.is_(True))).all()
    truth = pl.read_csv(province.directory / province.truth["path"], schema_overrides={"uscc": pl.String})
    scored = pl.DataFrame(rows, schema=["uscc", "score", "thin_file"], orient="row").join(truth, on="uscc")
    active = truth.filter(pl.col("status").is_in(["存续", "在业"])).height
    assert summary.enterprises == active == scored.height
    bad = scored["risky"].to_numpy().astype(bool)
    scores = scored["score"].to_numpy().astype(float)
    assert bad.sum() >= 10
    gap = scores[~bad].mean() - scores[bad].mean()
    area = auc(scores, bad)
    print(f"risky={int(bad.sum())} of {len(bad)}; mean gap={gap:.0f} points; AUC={area:.3f}; "
          f"grades={summary.grade_counts}; thin={summary.thin_files}")
    assert gap >= 60, gap
    assert area > 0.75, area
