"""All queries of the evaluation capability: set-based feature reads and result writes.

Feature reads return polars frames of text columns. On PostgreSQL a whole-population read is one
``COPY (SELECT …) TO STDOUT`` per category, parsed by polars' CSV reader; JSON fields are
extracted in SQL (``data->>'字段'``, SQLite ``json_extract``). Results go in with ``COPY … FROM
STDIN`` on PostgreSQL and ``executemany`` on SQLite. Identifiers inside SQL text come from the
validated guideline and catalog and are quoted as literals; subject keys are checked to be
alphanumeric before they are embedded.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fincredit.evaluation.models import Evaluation, EvaluationRun, GuidelineVersion
from fincredit.objections.markers import NOT_REPAIRED_SQL

ACTIVE_STATUSES = ("存续", "在业")
TRUE_TEXTS = ("true", "1")
IN_CHUNK = 2000
_KEY = re.compile(r"^[0-9A-Za-z]{1,64}$")
RESULT_COLUMNS = ("run_id", "uscc", "guideline_version", "score", "grade", "thin_file", "bins", "reasons",
                  "coverage", "evaluated_at", "is_current")


def dialect(connection: Connection) -> str:
    return connection.dialect.name


def literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def json_text(dialect_name: str, field: str) -> str:
    """SQL for the text of one JSON field of ``records.data``."""
    if dialect_name == "postgresql":
        return f"(data->>{literal(field)})"
    path = '$."' + field.replace('"', '\\"') + '"'
    return f"CAST(json_extract(data, {literal(path)}) AS TEXT)"


def key_list(keys: Iterable[str]) -> str:
    checked = sorted({k for k in keys if _KEY.match(k)})
    return ", ".join(literal(k) for k in checked) or "NULL"


def fetch(connection: Connection, sql: str, columns: Sequence[str], *, bulk: bool,
          by_index: bool = False) -> pl.DataFrame:
    """Run a SELECT; every column comes back as text (nulls as null).

    ``bulk`` on PostgreSQL: the rows are joined into one text server-side (unit-separated fields,
    newline-separated rows; validated values contain no control characters) and parsed by polars'
    CSV reader, because fetching millions of small rows one by one costs far more than the query.
    One aggregate group is the cheapest (grouping costs a third more); a category's extract must stay
    under PostgreSQL's 1 GB text limit (some 15 million records of the fields the guideline reads).
    """
    schema = {c: pl.String for c in columns}
    if bulk and dialect(connection) == "postgresql":
        fields = ", ".join(f"coalesce(t.{c}::text, '')" for c in columns)
        agg = f"SELECT convert_to(string_agg(concat_ws(E'\\x1f', {fields}), E'\\n'), 'UTF8') FROM ({sql}) AS t"
        # One category's current records through the partial index (category_code, …) WHERE
        # is_current: a bitmap scan reads only that category's pages, where the planner would
        # otherwise scan the whole records table once per category. No JIT for these short plans.
        connection.exec_driver_sql("SET LOCAL jit = off")
        if by_index:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        try:  # bytea in binary format: the bytes as they are, no text decoding and re-encoding
            raw = connection.connection.driver_connection
            with raw.cursor(binary=True) as cur:  # type: ignore[union-attr]
                data = cur.execute(agg).fetchone()[0]
        finally:
            if by_index:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        if not data:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(columns), schema=schema,
                           separator="\x1f", quote_char=None)
    rows = connection.exec_driver_sql(sql).fetchall()
    data = [[None if v is None else str(v) for v in row] for row in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


POPULATION_COLUMNS = ("uscc", "established_on", "registered_capital_wan", "employees", "revenue_wan", "size_class",
                      "legal_rep_key")


def population_sql(usccs: Sequence[str] | None, *, with_rep: bool) -> str:
    """The enterprises to evaluate (存续/在业); ``with_rep`` adds the legal representative's key."""
    where = f"status IN ({', '.join(literal(s) for s in ACTIVE_STATUSES)})"
    if usccs is not None:
        where += f" AND uscc IN ({key_list(usccs)})"
    columns = POPULATION_COLUMNS if with_rep else POPULATION_COLUMNS[:-1]
    return f"SELECT {', '.join(columns)} FROM enterprises WHERE {where}"


def representatives_sql(person_keys: Sequence[str]) -> str:
    """Enterprises (存续/在业) whose legal representative is one of these persons."""
    return (f"SELECT uscc, legal_rep_key FROM enterprises WHERE legal_rep_key IN ({key_list(person_keys)}) "
            f"AND status IN ({', '.join(literal(s) for s in ACTIVE_STATUSES)})")


def records_sql(dialect_name: str, category: str, fields: Sequence[str], *, current: bool,
                filters: Sequence[str], subjects: Sequence[str] | None, person_keys: bool) -> str:
    """SELECT subject_key[, person_keys], one text column per field, of one category's records."""
    keys = "person_keys::text AS person_keys" if dialect_name == "postgresql" else "person_keys"
    cols = ["subject_key"] + ([keys] if person_keys else [])
    cols += [f"{json_text(dialect_name, f)} AS c{k}" for k, f in enumerate(fields)]
    where = [f"category_code = {literal(category)}", "is_current" if current else "NOT is_current", *filters]
    where.append(NOT_REPAIRED_SQL)  # records repaired (信用修复) no longer count
    if subjects is not None:
        keys = key_list(subjects)
        if person_keys and dialect_name == "postgresql":
            where.append(f"(subject_key IN ({keys}) OR jsonb_exists_any(person_keys, ARRAY[{keys}]::text[]))")
        elif person_keys:
            where.append(f"(subject_key IN ({keys}) OR EXISTS (SELECT 1 FROM json_each(records.person_keys) AS pk "
                         f"WHERE pk.value IN ({keys})))")
        else:
            where.append(f"subject_key IN ({keys})")
    return f"SELECT {', '.join(cols)} FROM records WHERE {' AND '.join(where)}"


# -- results ---------------------------------------------------------------------------------------

def guideline_version(session: Session, version: str) -> GuidelineVersion | None:
    return session.get(GuidelineVersion, version)


def add(session: Session, row: object) -> None:
    session.add(row)
    session.flush()


def last_full_run(session: Session) -> int:
    """Id of the latest finished full run (0 if none): every current result is in it or a later run."""
    return session.scalar(select(func.max(EvaluationRun.id)).where(
        EvaluationRun.kind == "full", EvaluationRun.finished_at.is_not(None))) or 0


def lock_results(session: Session) -> None:
    """Serialise result writers (one current result per enterprise); SQLite writes are serial anyway."""
    connection = session.connection()
    if dialect(connection) == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('fincredit.evaluation.results'))")


def mark_not_current(session: Session, usccs: Sequence[str] | None, since_run: int) -> int:
    """Previous results stop being current: one UPDATE for a full run (only runs since the last
    full run can hold current rows), by enterprise for an incremental one."""
    base = update(Evaluation).where(Evaluation.is_current.is_(True))
    if usccs is None:
        result = session.execute(base.where(Evaluation.run_id >= since_run).values(is_current=False))
        return result.rowcount or 0  # type: ignore[attr-defined]
    total = 0
    for start in range(0, len(usccs), IN_CHUNK):
        chunk = list(usccs[start:start + IN_CHUNK])
        result = session.execute(base.where(Evaluation.uscc.in_(chunk)).values(is_current=False))
        total += result.rowcount or 0  # type: ignore[attr-defined]
    return total


def write_results(session: Session, results: pl.DataFrame, *, run_id: int, version: str,
                  evaluated_at: dt.datetime) -> None:
    """Insert one current evaluation per row of ``results`` (uscc, score, grade, thin_file, bins,
    reasons, coverage — the last two JSON text)."""
    frame = results.select(
        pl.lit(run_id).alias("run_id"), "uscc", pl.lit(version).alias("guideline_version"), "score", "grade",
        "thin_file", "bins", "reasons", "coverage")
    connection = session.connection()
    if dialect(connection) == "postgresql":
        frame = frame.with_columns(pl.lit(evaluated_at.isoformat()).alias("evaluated_at"),
                                   pl.lit("t").alias("is_current"),
                                   pl.col("thin_file").replace_strict({True: "t", False: "f"}, return_dtype=pl.String))
        raw = connection.connection.driver_connection
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY evaluations ({', '.join(RESULT_COLUMNS)}) FROM STDIN WITH (FORMAT csv)") as copy:
            step = 200_000
            for start in range(0, frame.height, step):
                copy.write(frame.slice(start, step).write_csv(include_header=False))
        return
    stamp = evaluated_at.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [(*row, stamp, 1) for row in frame.with_columns(pl.col("thin_file").cast(pl.Int8)).iter_rows()]
    raw = connection.connection.driver_connection
    raw.executemany(  # type: ignore[union-attr]
        f"INSERT INTO evaluations ({', '.join(RESULT_COLUMNS)}) VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
        rows)


def current(session: Session, uscc: str) -> Evaluation | None:
    return session.scalar(select(Evaluation).where(Evaluation.uscc == uscc, Evaluation.is_current.is_(True))
                          .order_by(Evaluation.id.desc()).limit(1))


def history(session: Session, uscc: str, limit: int, offset: int = 0) -> list[Evaluation]:
    return list(session.scalars(select(Evaluation).where(Evaluation.uscc == uscc)
                                .order_by(Evaluation.evaluated_at.desc(), Evaluation.id.desc())
                                .limit(limit).offset(offset)))


def distribution(session: Session) -> tuple[dict[str, int], int]:
    since = last_full_run(session)
    rows = session.execute(select(Evaluation.grade, Evaluation.thin_file, func.count())
                           .where(Evaluation.is_current.is_(True), Evaluation.run_id >= since)
                           .group_by(Evaluation.grade, Evaluation.thin_file)).all()
    grades: dict[str, int] = {}
    thin = 0
    for grade, is_thin, count in rows:
        grades[grade] = grades.get(grade, 0) + count
        thin += count if is_thin else 0
    return grades, thin


def runs(session: Session, limit: int) -> list[EvaluationRun]:
    return list(session.scalars(select(EvaluationRun).order_by(EvaluationRun.id.desc()).limit(limit)))
