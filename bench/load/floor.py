"""The floor of the load test: the least any design that records each disclosure in its own durable
database transaction must do per request — and nothing else.

    FINCREDIT_CEILING_BYTES=10000 FINCREDIT_FLOOR_DSN=postgresql://… \\
        uvicorn bench.load.floor:app --workers 2 --http httptools --loop uvloop

Per request: one statement, in autocommit (so one round trip and one durable commit, with the
server's default ``synchronous_commit = on``), that reads the subject by primary key and inserts a
row into a log table; then the same fixed body as the ceiling (``bench/load/ceiling.py``). No token,
no authorization logic, no records, no masking, no ledger: whatever the profile query does on top
of this is ours to optimise, but this much is the price of one durable transaction per disclosure
on this machine's Python, PostgreSQL and cores. ``bench/load/run.py`` creates the two tables
(``prepare``) and measures this endpoint in the same run as the ceiling and the profile queries.
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
STATEMENT = ("WITH s AS (SELECT key FROM load_floor_subjects WHERE key = %s) "
             "INSERT INTO load_floor_log (key) SELECT key FROM s RETURNING id")


def prepare(dsn: str, keys: list[str]) -> None:
    """Create (afresh) the subjects table with ``keys`` and an empty log table."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS load_floor_log, load_floor_subjects")
        conn.execute("CREATE TABLE load_floor_subjects (key text PRIMARY KEY)")
        conn.execute("CREATE TABLE load_floor_log (id bigserial PRIMARY KEY, key text NOT NULL, "
                     "at timestamptz NOT NULL DEFAULT now())")
        with conn.cursor().copy("COPY load_floor_subjects (key) FROM STDIN") as copy:
            for key in keys:
                copy.write_row((key,))


def logged(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return int(conn.execute("SELECT count(*) FROM load_floor_log").fetchone()[0])  # type: ignore[index]


_pool: asyncio.Queue | None = None


@asynccontextmanager
async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
    import psycopg

    global _pool
    _pool = asyncio.Queue()
    conns = [await psycopg.AsyncConnection.connect(os.environ["FINCREDIT_FLOOR_DSN"], autocommit=True,
                                                   prepare_threshold=0) for _ in range(POOL_SIZE)]
    for conn in conns:
        _pool.put_nowait(conn)
    yield
    for conn in conns:
        await conn.close()


async def profile(request: Request) -> Response:
    assert _pool is not None
    conn = await _pool.get()
    try:
        cur = await conn.execute(STATEMENT, (request.path_params["uscc"],))
        found = await cur.fetchone()
    finally:
        _pool.put_nowait(conn)
    if found is None:
        return Response(b'{"code":"not_found"}', status_code=404, media_type="application/json")
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/enterprises/{uscc}", profile)], lifespan=lifespan)
