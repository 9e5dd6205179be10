"""The floors of the load test: the least any design that records each disclosure durably before
answering must do per request — and nothing else.

    FINCREDIT_CEILING_BYTES=10000 FINCREDIT_FLOOR_DSN=postgresql://… [FINCREDIT_FLOOR_MODE=group] \\
        uvicorn bench.load.floor:app --workers 2 --http httptools --loop uvloop

Per request: one statement, in autocommit (so one round trip and one durable commit, with the
server's default ``synchronous_commit = on``), that reads the subject by primary key and inserts a
row into a log table; then the same fixed body as the ceiling (``bench/load/ceiling.py``). No token,
no authorization logic, no records, no masking, no ledger: whatever the profile query does on top
of this is ours to optimise, but this much is the price of one durable transaction per disclosure
on this machine's Python, PostgreSQL and cores.

``FINCREDIT_FLOOR_MODE=group`` is the floor of a design with group commit (``docs/scaling.md``): each
process has one appender (an asyncio task with its own connection) that takes every request queued
while its previous transaction was committing, inserts their rows in one statement, commits, and only
then lets those requests answer — each still answers after its own row is durable, but one commit
(one WAL flush) serves the group. The log's ``grp`` column (the writing transaction's id) gives the
mean group size. ``FINCREDIT_FLOOR_MODE=read_group`` first reads the subject by primary key in a
statement of its own (a pooled connection, autocommit), then appends as ``group`` does: the least a
design pays that reads the current state from the database on every request (a revocation or a
suspension takes effect at once) and group-commits the record. ``bench/load/run.py`` creates the two tables (``prepare``) and measures both floors
in the same run as the ceiling and the profile queries.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.load.ceiling import BODY

POOL_SIZE = 16  # connections per worker process (wrk's 32 connections over 2 workers)
MAX_GROUP = 256
READ_STATEMENT = "SELECT key FROM load_floor_subjects WHERE key = %s"
STATEMENT = ("WITH s AS (SELECT key FROM load_floor_subjects WHERE key = %s) "
             "INSERT INTO load_floor_log (key) SELECT key FROM s RETURNING id")
GROUP_STATEMENT = ("INSERT INTO load_floor_log (key) SELECT s.key FROM unnest(%s::text[]) AS k(key) "
                   "JOIN load_floor_subjects s ON s.key = k.key RETURNING key")


def prepare(dsn: str, keys: list[str]) -> None:
    """Create (afresh) the subjects table with ``keys`` and an empty log table."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS load_floor_log, load_floor_subjects")
        conn.execute("CREATE TABLE load_floor_subjects (key text PRIMARY KEY)")
        conn.execute("CREATE TABLE load_floor_log (id bigserial PRIMARY KEY, key text NOT NULL, "
                     "at timestamptz NOT NULL DEFAULT now(), grp bigint NOT NULL DEFAULT txid_current())")
        with conn.cursor().copy("COPY load_floor_subjects (key) FROM STDIN") as copy:
            for key in keys:
                copy.write_row((key,))


def logged(dsn: str) -> tuple[int, int]:
    """Rows in the log and the transactions that wrote them."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT grp) FROM load_floor_log").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


_pool: asyncio.Queue | None = None
_jobs: asyncio.Queue | None = None


async def _appender(conn) -> None:  # type: ignore[no-untyped-def]
    """Group commit: every request queued while the previous group committed goes in the next one."""
    assert _jobs is not None
    while True:
        group = [await _jobs.get()]
        while len(group) < MAX_GROUP and not _jobs.empty():
            group.append(_jobs.get_nowait())
        try:
            async with conn.transaction():
                cur = await conn.execute(GROUP_STATEMENT, ([key for key, _ in group],))
                found = {row[0] for row in await cur.fetchall()}
        except Exception as exc:  # noqa: BLE001 — every member of a failed group fails
            for _, future in group:
                future.set_exception(exc)
            continue
        for key, future in group:  # only after the commit
            future.set_result(key in found)


@asynccontextmanager
async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
    import psycopg

    global _pool, _jobs
    dsn = os.environ["FINCREDIT_FLOOR_DSN"]
    mode = os.environ.get("FINCREDIT_FLOOR_MODE", "single")
    conns = []
    if mode in ("single", "read_group"):
        _pool = asyncio.Queue()
        conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True, prepare_threshold=0)
                 for _ in range(POOL_SIZE)]
        for conn in conns:
            _pool.put_nowait(conn)
    task = None
    if mode in ("group", "read_group"):
        _jobs = asyncio.Queue()
        conns.append(await psycopg.AsyncConnection.connect(dsn, autocommit=True, prepare_threshold=0))
        task = asyncio.create_task(_appender(conns[-1]))
    yield
    if task is not None:
        task.cancel()
    for conn in conns:
        await conn.close()


async def _statement(sql: str, key: str) -> bool:
    assert _pool is not None
    conn = await _pool.get()
    try:
        cur = await conn.execute(sql, (key,))
        return await cur.fetchone() is not None
    finally:
        _pool.put_nowait(conn)


async def _record(key: str) -> bool:
    if _jobs is None:
        return await _statement(STATEMENT, key)
    if _pool is not None and not await _statement(READ_STATEMENT, key):
        return False
    future = asyncio.get_running_loop().create_future()
    _jobs.put_nowait((key, future))
    return await future


async def profile(request: Request) -> Response:
    if not await _record(request.path_params["uscc"]):
        return Response(b'{"code":"not_found"}', status_code=404, media_type="application/json")
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/enterprises/{uscc}", profile)], lifespan=lifespan)
