"""Feature extraction (指标取数): from stored records to one row of indicator values per enterprise.

``read_features(connection, guideline, as_of, usccs=None)`` reads the population (enterprises
存续/在业) and, per category the guideline uses, its current records in one set-based query (plus
one query of superseded records for ``trend`` indicators), then computes every indicator with
polars expressions — never a Python loop over enterprises. The frame it returns is what
``engine.score_frame`` expects: ``uscc``, ``x_<indicator>``, ``has_<category>``.

Time windows and conditions shared by every use of a category are pushed into SQL; the rest is
applied in polars. Dates are compared as ISO text (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy.engine import Connection

from fincredit.catalog.definitions import CategoryDef
from fincredit.evaluation import repository
from fincredit.evaluation.engine import coverage_column, feature_column
from fincredit.evaluation.guideline import Condition, Guideline, Indicator, Part, Source

TRUE_TEXTS = list(repository.TRUE_TEXTS)
PREFETCH = 2  # category reads queued ahead of the one being processed
KEY = "_k"  # 64-bit hash of the subject key: grouping and joining on it is several times faster than on text


def _keyed(frame: pl.DataFrame, column: str, seed: int, *, keep: bool = False) -> pl.DataFrame:
    keyed = frame.with_columns(pl.col(column).hash(seed).alias(KEY))
    return keyed if keep else keyed.drop(column)


def _order(col: str) -> pl.Expr:
    """An ISO date, year-month or year as a sortable integer (2026-10-15 → 20261015)."""
    return pl.col(col).str.replace_all("-", "", literal=True).cast(pl.Int64, strict=False)


@dataclass
class _Use:
    """One use of a category: by an indicator (``source``) or by one part of a count."""

    indicator: Indicator
    date_field: str | None
    recent_days: int | None
    where: list[Condition]
    active_until_field: str | None
    part: Part | None = None


@dataclass
class _Read:
    category: str
    fields: list[str] = field(default_factory=list)
    uses: list[_Use] = field(default_factory=list)
    person_keys: bool = False
    sql_window: tuple[str, int] | None = None
    sql_where: list[Condition] = field(default_factory=list)

    def need(self, *names: str | None) -> None:
        for name in names:
            if name and name not in self.fields:
                self.fields.append(name)


def cutoff_text(field_type: str, day: dt.date) -> str:
    if field_type == "year":
        return f"{day.year:04d}"
    if field_type == "year_month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _plan(g: Guideline) -> dict[str, _Read]:
    reads: dict[str, _Read] = {}
    for ind in g.indicators:
        s = ind.source
        if s.kind == "base":
            continue
        if s.kind == "count":
            uses = [(p.category, _Use(ind, p.date_field, p.recent_days, p.where, p.active_until_field, p))
                    for p in s.parts]
        else:
            uses = [(s.category or "", _Use(ind, s.order_by, s.recent_days, s.where, s.active_until_field))]
        for code, use in uses:
            read = reads.setdefault(code, _Read(code))
            read.uses.append(use)
            read.need(*s.value_fields if s.kind != "count" else [], use.date_field, use.active_until_field,
                      *(c.field for c in use.where))
            read.person_keys |= use.part is not None and use.part.match == "legal_rep"
    for read in reads.values():
        # push down only what every use of the category shares
        windows = {(u.date_field, u.recent_days) for u in read.uses}
        if len(windows) == 1 and None not in next(iter(windows)):
            read.sql_window = next(iter(windows))  # type: ignore[assignment]
        wheres = [u.where for u in read.uses]
        if all(w == wheres[0] for w in wheres):
            read.sql_where = list(wheres[0])
    return reads


def _texts(c: Condition) -> list[str]:
    """The condition's values as stored text (booleans: PostgreSQL true/false, SQLite 1/0)."""
    values = c.value if isinstance(c.value, list) else [c.value]
    return [t for v in values for t in (TRUE_TEXTS if v is True else ["false", "0"] if v is False else [str(v)])]


def _sql_condition(dialect: str, c: Condition) -> str:
    col = repository.json_text(dialect, c.field)
    listed = ", ".join(repository.literal(t) for t in _texts(c))
    if c.op in ("eq", "in"):
        return f"{col} IN ({listed})"
    return f"({col} IS NULL OR {col} NOT IN ({listed}))"


def _condition(c: Condition) -> pl.Expr:
    col = pl.col(c.field)
    texts = _texts(c)
    if c.op in ("eq", "in"):
        return col.is_in(texts).fill_null(False)
    return col.is_null() | ~col.is_in(texts)


def _filters(use: _Use, read: _Read, cats: dict[str, CategoryDef], as_of: dt.date) -> pl.Expr:
    expr = pl.lit(True)
    if use.recent_days and use.date_field and read.sql_window is None:
        kind = cats[read.category].field(use.date_field).type
        expr &= pl.col(use.date_field) >= cutoff_text(kind, as_of - dt.timedelta(days=use.recent_days))
    if read.sql_where != use.where:
        for c in use.where:
            expr &= _condition(c)
    if use.active_until_field:
        expr &= pl.col(use.active_until_field).is_null() | (pl.col(use.active_until_field) >= as_of.isoformat())
    return expr


def _to_date(col: str, field_type: str) -> pl.Expr:
    text = pl.col(col)
    if field_type == "year":
        text = text + "-01-01"
    elif field_type == "year_month":
        text = text + "-01"
    return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _value(s: Source) -> pl.Expr:
    """The numeric value of one record: its field, or the sum of its fields (null when all are)."""
    cols = [pl.col(f).cast(pl.Float64, strict=False) for f in s.value_fields]
    if len(cols) == 1:
        return cols[0]
    total = cols[0].fill_null(0)
    for c in cols[1:]:
        total = total + c.fill_null(0)
    return pl.when(pl.any_horizontal([c.is_not_null() for c in cols])).then(total)


def _newest(frame: pl.DataFrame, order_by: str | None, single: bool) -> pl.DataFrame:
    """Each enterprise's newest record(s) by ``order_by`` (all of them when there is no order);
    ``single``: the category holds one current record per subject, nothing to choose."""
    if not order_by:
        return frame
    if single:
        return frame.filter(pl.col(order_by).is_not_null())
    return frame.with_columns(_order(order_by).alias("_o")).filter(
        pl.col("_o").is_not_null() & (pl.col("_o") == pl.col("_o").max().over(KEY)))


def _latest(ind: Indicator, frame: pl.DataFrame) -> pl.DataFrame:
    """_k, value: the enterprise's newest record(s) (``_newest``), aggregated."""
    s = ind.source
    if ind.categorical:
        if s.agg == "best":
            rank = {v: k for k, b in enumerate(ind.bins) for v in b.values or []}
            frame = frame.with_columns(pl.col(s.field or "").replace_strict(rank, default=None, return_dtype=pl.Int32)
                                       .alias("_rank")).filter(pl.col("_rank").is_not_null())
            return frame.group_by(KEY).agg(pl.col(s.field or "").sort_by("_rank").first().alias("value"))
        return frame.group_by(KEY).agg(pl.col(s.field or "").drop_nulls().first().alias("value"))
    if s.ratio:
        a, b = (pl.col(f).cast(pl.Float64, strict=False) for f in s.ratio)
        out = frame.group_by(KEY).agg(a.sum().alias("_a"), b.sum().alias("_b"))
        return out.select(KEY, pl.when(pl.col("_b") > 0).then(pl.col("_a") / pl.col("_b") - 1).alias("value"))
    value = _value(s)
    agg = value.max() if s.agg == "max" else value.sum()
    return frame.group_by(KEY).agg(pl.when(value.is_not_null().any()).then(agg).alias("value"))


def _trend(ind: Indicator, current: pl.DataFrame, past: pl.DataFrame, cats: dict[str, CategoryDef]) -> pl.DataFrame:
    s = ind.source
    kind = cats[s.category or ""].field(s.order_by or "").type
    gap = s.history
    assert gap is not None and s.order_by
    now = _latest(ind, current).join(
        current.group_by(KEY).agg(_to_date(s.order_by, kind).max().alias("_at")), on=KEY)
    before = past.select(KEY, _to_date(s.order_by, kind).alias("_then"), _value(s).alias("_before"))
    pairs = now.join(before, on=KEY).filter(
        (pl.col("_then") <= pl.col("_at") - pl.duration(days=gap.min_gap_days))
        & (pl.col("_then") >= pl.col("_at") - pl.duration(days=gap.max_gap_days))
        & pl.col("_before").is_not_null())
    pairs = pairs.filter(pl.col("_then") == pl.col("_then").max().over(KEY)) \
        .group_by(KEY).agg(pl.col("value").first(), pl.col("_before").sum())
    return pairs.select(KEY, pl.when(pl.col("_before") > 0)
                        .then(pl.col("value") / pl.col("_before") - 1).alias("value"))


def _count(use: _Use, frame: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """_k, n: matching records per enterprise (by subject, or by its legal representative)."""
    if use.part is not None and use.part.match == "legal_rep":
        keys = frame.with_row_index("_rid").select(
            "_rid", pl.concat_list([pl.col("subject_key"),
                                    pl.col("person_keys").fill_null("").str.extract_all(r"[0-9a-f]{64}")])
            .list.unique().alias("key")).explode("key")
        matched = keys.join(population.select(KEY, pl.col("legal_rep_key").alias("key")).drop_nulls(), on="key")
        return matched.group_by(KEY).agg(pl.col("_rid").n_unique().cast(pl.Float64).alias("n"))
    return frame.group_by(KEY).agg(pl.len().cast(pl.Float64).alias("n"))


def _base(ind: Indicator, population: pl.DataFrame, as_of: dt.date) -> pl.Expr:
    s = ind.source
    if s.transform == "age_years":
        born = pl.col("established_on").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return (pl.lit(as_of) - born).dt.total_days() / 365.25
    if s.transform == "size_class":
        return pl.col("size_class")
    column = {"注册资本(万元)": "registered_capital_wan", "从业人数": "employees", "营业收入(万元)": "revenue_wan"}
    return pl.col(column[s.field or ""]).cast(pl.Float64, strict=False)


def _select_sql(connection: Connection, read: _Read, cats: dict[str, CategoryDef], as_of: dt.date,
                subjects: Sequence[str] | None, current: bool, window: str | None = None) -> str:
    dialect = repository.dialect(connection)
    filters = [_sql_condition(dialect, c) for c in read.sql_where]
    if window:
        filters.append(window)
    elif read.sql_window and current:
        name, days = read.sql_window
        cut = cutoff_text(cats[read.category].field(name).type, as_of - dt.timedelta(days=days))
        filters.append(f"{repository.json_text(dialect, name)} >= {repository.literal(cut)}")
    return repository.records_sql(dialect, read.category, read.fields, current=current, filters=filters,
                                  subjects=subjects, person_keys=read.person_keys)


def _fetch(connection: Connection, read: _Read, sql: str, bulk: bool, current: bool = True) -> pl.DataFrame:
    columns = ["subject_key"] + (["person_keys"] if read.person_keys else []) + [f"c{k}" for k in range(len(read.fields))]
    frame = repository.fetch(connection, sql, columns, bulk=bulk, by_index=current)
    return frame.rename({f"c{k}": name for k, name in enumerate(read.fields)})


class _Queries:
    """Runs the queries one after another on the connection in a background thread, so that the
    database works on the next category while polars processes the previous one (never two
    queries at once on the connection)."""

    def __init__(self, connection: Connection, bulk: bool) -> None:
        self.connection, self.bulk = connection, bulk
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation-read")

    def submit(self, read: _Read, sql: str, current: bool = True) -> Future[pl.DataFrame]:
        return self.pool.submit(_fetch, self.connection, read, sql, self.bulk, current)

    def fetch(self, sql: str, columns: Sequence[str], *, bulk: bool | None = None) -> pl.DataFrame:
        return self.pool.submit(repository.fetch, self.connection, sql, columns,
                                bulk=self.bulk if bulk is None else bulk).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def read_features(connection: Connection, g: Guideline, cats: dict[str, CategoryDef], as_of: dt.date,
                  usccs: Sequence[str] | None = None, progress=None) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """One row per enterprise to evaluate (all 存续/在业 ones, or those of ``usccs``)."""
    queries = _Queries(connection, usccs is None)
    try:
        return _read(queries, g, cats, as_of, usccs, progress or (lambda label: None))
    finally:
        queries.close()


def _read(queries: _Queries, g: Guideline, cats: dict[str, CategoryDef], as_of: dt.date,
          usccs: Sequence[str] | None, tick) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    bulk, connection = queries.bulk, queries.connection
    # The legal representatives' keys (64 characters each) are fetched in full only for a few
    # enterprises; a full run looks up just the persons named in person-category records.
    columns = repository.POPULATION_COLUMNS if not bulk else repository.POPULATION_COLUMNS[:-1]
    population = queries.fetch(repository.population_sql(usccs, with_rep=not bulk), columns)
    seed = 0
    while True:  # a 64-bit collision among the enterprises is all but impossible; re-seed if it happens
        population = _keyed(population, "uscc", seed, keep=True)
        if population.get_column(KEY).n_unique() == population.height:
            break
        seed += 1
    tick("base")
    frame = population.with_columns(pl.lit(True).alias(coverage_column("base")))
    frame = frame.with_columns([_base(ind, population, as_of).alias(feature_column(ind))
                                for ind in g.indicators if ind.source.kind == "base"])
    rep_keys = [] if bulk else population.get_column("legal_rep_key").drop_nulls().to_list()
    if bulk:
        population = population.with_columns(pl.lit(None, pl.String).alias("legal_rep_key"))
    reads = list(_plan(g).values())
    subjects = {r.category: None if bulk else list(usccs or []) + (rep_keys if r.person_keys else []) for r in reads}
    def submit(k: int) -> Future[pl.DataFrame] | None:
        if k >= len(reads):
            return None
        return queries.submit(reads[k], _select_sql(connection, reads[k], cats, as_of, subjects[reads[k].category],
                                                    True))

    pending = [submit(k) for k in range(PREFETCH)]  # the worker reads ahead while polars works
    results: dict[str, list[pl.DataFrame]] = {}
    covered: dict[str, list[pl.Series]] = {}
    for k, read in enumerate(reads):
        code = read.category
        future = pending.pop(0)
        pending.append(submit(k + PREFETCH))
        records = _keyed(future.result(), "subject_key", seed, keep=read.person_keys)  # type: ignore[union-attr]
        single = cats[code].natural_key == [cats[code].subject_field.name]
        selected: dict[tuple, pl.DataFrame] = {}  # uses sharing filters (and order) share the work
        for use in read.uses:
            ind = use.indicator
            signature = (use.date_field, use.recent_days, repr(use.where), use.active_until_field)
            if signature not in selected:
                selected[signature] = records.filter(_filters(use, read, cats, as_of))
            rows = selected[signature]
            if ind.source.kind == "count":
                if bulk and use.part is not None and use.part.match == "legal_rep":
                    population = _with_representatives(queries, population, rows)
                part = _count(use, rows, population)
                results.setdefault(ind.id, []).append(part)
                covered.setdefault(code, []).append(part.filter(pl.col("n") > 0).get_column(KEY))
                continue
            order = (*signature, ind.source.order_by)
            if order not in selected:
                selected[order] = _newest(rows, ind.source.order_by, single)
            if ind.source.kind == "trend":
                sql = _history_sql(connection, read, ind, cats, as_of, subjects[code])
                past = _keyed(queries.submit(read, sql, current=False).result(), "subject_key", seed)
                value = _trend(ind, selected[order], past.filter(_filters(use, read, cats, as_of)), cats)
            else:
                value = _latest(ind, selected[order])
            value = value.filter(pl.col("value").is_not_null())
            results.setdefault(ind.id, []).append(value.rename({"value": "n"}))
            covered.setdefault(code, []).append(value.get_column(KEY))
        tick(code)
    return _assemble(g, frame, results, covered)


def _assemble(g: Guideline, frame: pl.DataFrame, results: dict[str, list[pl.DataFrame]],
              covered: dict[str, list[pl.Series]]) -> pl.DataFrame:
    """Align every result with the population by narrow joins, then add all columns at once
    (joining each onto the growing wide frame would copy it once per indicator)."""
    keys = frame.select(KEY)
    columns = []
    for ind in g.indicators:
        parts = results.get(ind.id)
        if not parts:
            continue
        merged = pl.concat(parts).group_by(KEY).agg(pl.col("n").sum()) if ind.source.kind == "count" else parts[0]
        columns.append(keys.join(merged, on=KEY, how="left", maintain_order="left")
                       .get_column("n").alias(feature_column(ind)))
    for code, seen in covered.items():
        columns.append(keys.get_column(KEY).is_in(pl.concat(seen).unique()).alias(coverage_column(code)))
    return frame.with_columns(columns).drop(KEY)


def _with_representatives(queries: _Queries, population: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Fill ``legal_rep_key`` for the enterprises whose representative a person record names."""
    named = pl.concat([rows.get_column("subject_key"),
                       rows.get_column("person_keys").fill_null("").str.extract_all(r"[0-9a-f]{64}").explode()
                       .drop_nulls()]).unique().to_list()
    found = [queries.fetch(repository.representatives_sql(named[i:i + repository.IN_CHUNK]), ["uscc", "rep"],
                           bulk=False) for i in range(0, len(named), repository.IN_CHUNK)]
    if not found:
        return population
    reps = pl.concat(found).unique("uscc")
    return population.join(reps, on="uscc", how="left", maintain_order="left").with_columns(
        pl.coalesce("legal_rep_key", "rep").alias("legal_rep_key")).drop("rep")


def _history_sql(connection: Connection, read: _Read, ind: Indicator, cats: dict[str, CategoryDef],
                 as_of: dt.date, subjects: Sequence[str] | None) -> str:
    """Superseded records old enough to compare with (a generous window; exact pairing in polars)."""
    s = ind.source
    assert s.history and s.order_by
    kind = cats[read.category].field(s.order_by).type
    low = cutoff_text(kind, as_of - dt.timedelta(days=2 * s.history.max_gap_days))
    high = cutoff_text(kind, as_of - dt.timedelta(days=s.history.min_gap_days))
    col = repository.json_text(repository.dialect(connection), s.order_by)
    window = f"{col} >= {repository.literal(low)} AND {col} <= {repository.literal(high)}"
    return _select_sql(connection, read, cats, as_of, subjects, False, window)
