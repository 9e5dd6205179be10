"""Per-request cost of the institution profile query, in process, one request at a time.

    uv run python bench/load/profile_query.py --pg-url "$(scripts/pg-start /tmp/bench-load-pg 54375)" \
        [--enterprises 1000] [--subjects 200] [--requests 300] [--reuse] [--cprofile 25]

Builds the same world as ``bench/load/run.py`` (``build_world``: a synthetic province, four active
banks, enterprises that authorized every bank) in a fresh PostgreSQL database ``<name>_profile``
(``--reuse`` re-uses the last one from ``--data-dir``), then sends ``GET /api/v1/enterprises/{uscc}``
with a bank token through a ``TestClient`` (the whole stack: authentication, rate limit, the view,
the disclosure record, the commit) and prints per request: wall time, process CPU time (every
thread: the handler runs in the threadpool) and the number of SQL statements (counted by a
``before_cursor_execute`` listener). It also measures what the ``TestClient`` itself costs (a bare
Starlette endpoint answering a body of the same size, like ``bench/load/ceiling.py``), and the whole
request driven straight through the ASGI application in one thread (no ``TestClient``, no thread hops:
what our own code — middlewares, authentication, rate limit, the view, the disclosure, the response —
costs). ``--cprofile N`` prints the top functions of the handler path (the view, the disclosure and the
commit called directly, as the endpoint does) over N requests, and (``--cprofile-what``) of the whole
request, driven through the ASGI application in one thread so that one profiler sees every step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def setup(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FINCREDIT_DATA_DIR"] = str(args.data_dir)
    os.environ["FINCREDIT_INSTITUTION_RATE_PER_MINUTE"] = str(10**9)
    world_file = args.data_dir / "world.json"
    if args.reuse:
        world = json.loads(world_file.read_text())
        os.environ["FINCREDIT_DATABASE_URL"] = world["url"]
        return world
    from bench.fresh_db import fresh_database
    from bench.load.run import build_world

    os.environ["FINCREDIT_DATABASE_URL"] = fresh_database(args.pg_url, args.data_dir, "profile")
    world = build_world(args.data_dir, args.enterprises, args.subjects)
    world["url"] = os.environ["FINCREDIT_DATABASE_URL"]
    world_file.write_text(json.dumps(world, ensure_ascii=False))
    return world


def targets(world: dict) -> list[tuple[str, str, int]]:
    """(uscc, bank token, bank id), cycling over enterprises first so consecutive requests differ."""
    return [(e["uscc"], token, inst) for inst, token in world["banks"] for e in world["enterprises"]]


def measure(world: dict, requests: int, warmup: int) -> dict:
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from fincredit.web.app import create_app

    counter = [0]

    def count(*_a: object, **_k: object) -> None:
        counter[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    todo = targets(world)
    walls, cpus, stmts = [], [], []
    with TestClient(create_app()) as client:
        for i in range(warmup + requests):
            uscc, token, _inst = todo[i % len(todo)]
            before, w0, c0 = counter[0], time.perf_counter(), time.process_time()
            r = client.get(f"/api/v1/enterprises/{uscc}", headers={"Authorization": f"Bearer {token}"})
            w1, c1 = time.perf_counter(), time.process_time()
            if r.status_code != 200 or "disclosure" not in r.json():
                raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
            if i >= warmup:
                walls.append((w1 - w0) * 1000)
                cpus.append((c1 - c0) * 1000)
                stmts.append(counter[0] - before)
    event.remove(Engine, "before_cursor_execute", count)
    return {
        "requests": requests, "wall_ms_mean": statistics.fmean(walls), "wall_ms_p50": statistics.median(walls),
        "cpu_ms_mean": statistics.fmean(cpus), "cpu_ms_p50": statistics.median(cpus),
        "statements_mean": statistics.fmean(stmts), "statements_max": max(stmts), "bytes": len(r.content), "load_average": loadavg(),
    }


def testclient_overhead(requests: int, warmup: int, size: int) -> dict:
    """CPU of the ``TestClient`` itself: a bare Starlette endpoint (``bench/load/ceiling.py``'s) answering
    a body of the same size, sent the same way. Subtract it from the whole request's CPU."""
    from fastapi.testclient import TestClient
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from bench.load.ceiling import _body

    body = _body(size)

    async def bare(_request: object) -> Response:
        return Response(body, media_type="application/json")

    cpus = []
    with TestClient(Starlette(routes=[Route("/api/v1/enterprises/{uscc}", bare)])) as client:
        for i in range(warmup + requests):
            c0 = time.process_time()
            r = client.get("/api/v1/enterprises/x", headers={"Authorization": "Bearer x"})
            c1 = time.process_time()
            if r.status_code != 200:
                raise SystemExit(f"bare endpoint answered {r.status_code}")
            if i >= warmup:
                cpus.append((c1 - c0) * 1000)
    return {"cpu_ms_mean": statistics.fmean(cpus), "cpu_ms_p50": statistics.median(cpus)}


@contextlib.contextmanager
def inline_threadpool():
    """Run what FastAPI/Starlette send to the thread pool (sync dependencies and endpoints) inline, in the
    event loop's thread, so that one profiler (cProfile is per thread) sees the whole request. The thread
    hops themselves are then not measured."""
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, abandon_on_cancel=False, cancellable=None, limiter=None):  # type: ignore[no-untyped-def]
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original  # type: ignore[assignment]


class AsgiDriver:
    """Sends GET requests straight to an ASGI application, in this thread, on one event loop."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def get(self, path: str, token: str) -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "headers": [(b"host", b"testserver"), (b"accept", b"*/*"),
                             (b"authorization", f"Bearer {token}".encode())], "state": {}}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        self.loop.run_until_complete(self.app(scope, receive, send))  # type: ignore[operator]
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    def close(self) -> None:
        self.loop.close()


def measure_asgi(world: dict, requests: int, warmup: int) -> dict:
    """The whole request through the ASGI application in one thread (no TestClient, no thread hops)."""
    from fincredit.web.app import create_app

    todo = targets(world)
    driver = AsgiDriver(create_app())
    cpus = []
    with inline_threadpool():
        for i in range(warmup + requests):
            uscc, token, _inst = todo[(i * 5) % len(todo)]
            c0 = time.process_time()
            status, body = driver.get(f"/api/v1/enterprises/{uscc}", token)
            c1 = time.process_time()
            if status != 200 or b'"disclosure"' not in body:
                raise SystemExit(f"unexpected answer {status}: {body[:300]!r}")
            if i >= warmup:
                cpus.append((c1 - c0) * 1000)
    driver.close()
    return {"cpu_ms_mean": statistics.fmean(cpus), "cpu_ms_p50": statistics.median(cpus)}


def measure_handler(world: dict, requests: int, warmup: int) -> dict:
    """The handler's own work (view, disclosure record, commit), called directly: no HTTP, no
    authentication, no serialization of the answer."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal
    from fincredit.db import get_sessionmaker
    from fincredit.disclosure import service, views

    counter = [0]
    locked: list[tuple[float, int]] = []  # when the ledger's append lock was requested, statements before

    def count(_conn: object, _cursor: object, statement: str, *_a: object, **_k: object) -> None:
        if not locked and "UPDATE ledger_head SET size" in statement:
            locked.append((time.perf_counter(), counter[0]))
        counter[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    todo = targets(world)
    maker = get_sessionmaker()
    walls, cpus, stmts, holds, under = [], [], [], [], []
    for i in range(warmup + requests):
        uscc, _token, inst = todo[(i * 3) % len(todo)]
        party = Principal(role=Role.institution, subject=str(inst))
        before, w0, c0 = counter[0], time.perf_counter(), time.process_time()
        locked.clear()
        with maker() as session:
            draft = views.enterprise_view(session, party, uscc, None)
            service.disclose(session, draft, request_id=f"handler-{i}")
            session.commit()
        w1, c1 = time.perf_counter(), time.process_time()
        if i >= warmup:
            walls.append((w1 - w0) * 1000)
            cpus.append((c1 - c0) * 1000)
            stmts.append(counter[0] - before)
            # The ledger lock (the ledger_head row) is held from the reservation to the commit.
            holds.append((w1 - locked[0][0]) * 1000)
            under.append(counter[0] - locked[0][1])
    event.remove(Engine, "before_cursor_execute", count)
    return {"wall_ms_mean": statistics.fmean(walls), "wall_ms_p50": statistics.median(walls),
            "cpu_ms_mean": statistics.fmean(cpus), "cpu_ms_p50": statistics.median(cpus),
            "statements_mean": statistics.fmean(stmts), "lock_hold_ms_mean": statistics.fmean(holds), "lock_hold_ms_p50": statistics.median(holds),
            "statements_under_lock": statistics.fmean(under), "load_average": loadavg()}


def _stats(prof: cProfile.Profile, top: int, requests: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    # Python function calls per request: a proxy for CPU that the machine's load does not blur.
    out.write(f"{stats.total_calls / requests:,.0f} function calls per request "
              f"({stats.prim_calls / requests:,.0f} primitive)\n")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def profile_request(world: dict, requests: int, top: int) -> str:
    """cProfile of the whole request (middlewares, authentication, rate limit, the endpoint, the response),
    driven through the ASGI application in one thread (see ``inline_threadpool``)."""
    from fincredit.web.app import create_app

    todo = targets(world)
    driver = AsgiDriver(create_app())
    prof = cProfile.Profile(time.process_time)  # CPU time: waits on the database do not count
    with inline_threadpool():
        driver.get(f"/api/v1/enterprises/{todo[0][0]}", todo[0][1])  # build the middleware stack first
        for i in range(requests):
            uscc, token, _inst = todo[(i * 11) % len(todo)]
            prof.enable()
            status, _body = driver.get(f"/api/v1/enterprises/{uscc}", token)
            prof.disable()
            if status != 200:
                raise SystemExit(f"unexpected answer {status}")
    driver.close()
    return _stats(prof, top, requests)


def profile(world: dict, requests: int, top: int) -> str:
    """cProfile of the handler path, called directly (the endpoint's work without HTTP)."""
    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal
    from fincredit.db import get_sessionmaker
    from fincredit.disclosure import service, views

    todo = targets(world)
    prof = cProfile.Profile(time.process_time)  # CPU time: waits on the database do not count
    maker = get_sessionmaker()
    for i in range(requests):
        uscc, _token, inst = todo[(i * 7) % len(todo)]
        party = Principal(role=Role.institution, subject=str(inst))
        with maker() as session:
            prof.enable()
            draft = views.enterprise_view(session, party, uscc, None)
            service.disclose(session, draft, request_id=f"profile-{i}")
            session.commit()
            prof.disable()
    return _stats(prof, top, requests)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", help="PostgreSQL server URL (a database <name>_profile is re-created)")
    ap.add_argument("--enterprises", type=int, default=1000)
    ap.add_argument("--subjects", type=int, default=200)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--reuse", action="store_true", help="re-use the world of the last run in --data-dir")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/fincredit-profile"))
    ap.add_argument("--cprofile", type=int, default=0, help="also profile N requests (see --cprofile-what)")
    ap.add_argument("--cprofile-what", choices=("handler", "request", "both"), default="both",
                    help="profile the handler path, the whole request (through the ASGI app, one thread), or both")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    args = ap.parse_args()
    if not args.reuse and not args.pg_url:
        raise SystemExit("--pg-url is required unless --reuse")
    world = setup(args)
    result = measure(world, args.requests, args.warmup)
    print(f"profile query, {result['requests']} requests one at a time (load average {result['load_average']}):")
    print(f"  wall {result['wall_ms_mean']:.2f} ms mean, {result['wall_ms_p50']:.2f} ms p50; "
          f"CPU {result['cpu_ms_mean']:.2f} ms mean, {result['cpu_ms_p50']:.2f} ms p50; SQL statements {result['statements_mean']:.1f} "
          f"(max {result['statements_max']}); {result['bytes']} bytes")
    bare = testclient_overhead(args.requests, args.warmup, result["bytes"])
    result["testclient_bare"] = bare
    print(f"  the TestClient's own cost (bare Starlette endpoint, same body size): CPU {bare['cpu_ms_mean']:.2f} ms "
          f"mean, {bare['cpu_ms_p50']:.2f} ms p50")
    asgi = measure_asgi(world, args.requests, args.warmup)
    result["asgi"] = asgi
    print(f"  the whole request through the ASGI app in one thread (no TestClient, no thread hops): CPU "
          f"{asgi['cpu_ms_mean']:.2f} ms mean, {asgi['cpu_ms_p50']:.2f} ms p50")
    handler = measure_handler(world, args.requests, args.warmup)
    result["handler"] = handler
    print(f"  of which the handler (view + disclosure record + commit, called directly): wall "
          f"{handler['wall_ms_mean']:.2f} ms mean, {handler['wall_ms_p50']:.2f} ms p50; CPU "
          f"{handler['cpu_ms_mean']:.2f} ms mean, {handler['cpu_ms_p50']:.2f} ms p50; SQL statements {handler['statements_mean']:.1f}")
    print(f"  ledger append lock held (reservation to end of commit, no contention): "
          f"{handler['lock_hold_ms_mean']:.2f} ms mean, {handler['lock_hold_ms_p50']:.2f} ms p50; "
          f"{handler['statements_under_lock']:.1f} statements + COMMIT")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.cprofile and args.cprofile_what in ("handler", "both"):
        print(f"== cProfile of the handler path, {args.cprofile} requests ==")
        print(profile(world, args.cprofile, args.top))
    if args.cprofile and args.cprofile_what in ("request", "both"):
        print(f"== cProfile of the whole request (ASGI app, one thread), {args.cprofile} requests ==")
        print(profile_request(world, args.cprofile, args.top))


if __name__ == "__main__":
    main()
