"""Load test of the API on PostgreSQL with wrk, against a bare Starlette ceiling measured in the same run.

    uv run python bench/load/run.py --pg-url "$(scripts/pg-start /tmp/bench-load-pg 54375)" \
        [--enterprises 1000] [--duration 30] [--api-workers 2] [--soak 600] [--report docs/benchmarks.md]

Needs ``wrk`` (Debian/Ubuntu: ``apt-get install -y wrk``, 4.1.0). The world: a synthetic province
ingested and evaluated, four active banks, enterprises with accounts that authorized every bank
(pre-loan, a mix of categories). Processes: ``fincredit serve --workers N`` and one ``fincredit
worker``; the ceiling is ``bench/load/ceiling.py`` under uvicorn with the same settings, the floor
``bench/load/floor.py`` (one durable single-statement transaction a request, nothing else), and the
group floor (the same, group-committed: one transaction for the requests queued meanwhile) and the
read-then-group floor (one read statement first). Phases, c=32: the ceiling; the three floors;
profile queries alone; the realistic mix (profile queries, evaluations, verifications,
enterprise self-queries, one wrk process each) with batch uploads in the background. Disclosures are
counted before and after and matched by id against the answers wrk received. ``--soak S`` then runs
the mix for S seconds, sampling the API processes' RSS every 10 s. Results go to DATA_DIR/*.json and,
with ``--report``, to the "## Load" section of the report.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FINCREDIT = Path(sys.executable).parent / "fincredit"
CATEGORIES = ["1", "4", "10", "13", "14", "31", "27"]
MIX = {"profile": 16, "evaluation": 6, "verification": 4, "self": 6}  # connections per kind: c=32
BANKS = 4


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the world ------------------------------------------------------------------------------------

def build_world(data_dir: Path, enterprises: int, subjects: int) -> dict:
    from rich.console import Console
    from sqlalchemy import select

    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal, issue_token
    from fincredit.authorization import service as authorization
    from fincredit.bootstrap import initialize
    from fincredit.collection.provider_service import ensure_catalog_provider, issue_provider_token
    from fincredit.db import session_scope, utcnow
    from fincredit.demo import _ensure_province, _evaluate, _ingest_all
    from fincredit.institutions import service as institutions
    from fincredit.registry.models import Account, Enterprise

    console = Console(stderr=True)
    initialize()
    out, manifest = _ensure_province(console, enterprises)
    _ingest_all(console, out, manifest)
    _evaluate(console)
    banks = []
    with session_scope() as s:
        for i in range(BANKS):
            inst = institutions.create_institution(s, name=f"压测银行{i + 1}号分行", kind="bank", actor="bench")
            for kind in ("security", "authorization"):
                institutions.record_assessment(s, inst.id, kind=kind, passed=True, note="压测", actor="bench")
            institutions.change_status(s, inst.id, to_status="active", reason="压测接入", actor="bench")
            raw, _ = institutions.issue_institution_token(s, inst.id, name="压测令牌")
            banks.append((inst.id, raw))
        ents = list(s.execute(select(Enterprise.uscc, Enterprise.legal_rep_key)
                              .where(Enterprise.status.in_(("存续", "在业"))).order_by(Enterprise.uscc)
                              .limit(subjects)))
    world = {"banks": banks, "enterprises": []}
    for uscc, rep_key in ents:
        with session_scope() as s:
            if s.scalar(select(Account.id).where(Account.uscc == uscc)) is None:
                s.add(Account(uscc=uscc, password_hash="bench-not-used", legal_rep_key=rep_key, identity_valid=True))
                s.flush()
            raw, _ = issue_token(s, role="enterprise", subject=uscc, name=uscc)
            for inst_id, _token in banks:
                authorization.grant(s, Principal(role=Role.enterprise, subject=uscc), authorization.GrantRequest(
                    institution_id=inst_id, purpose="pre_loan", categories=CATEGORIES,
                    expires_at=utcnow() + dt.timedelta(days=20)))
        world["enterprises"].append({"uscc": uscc, "token": raw})
    tax = next(f["provider"] for f in manifest["files"] if f["category"] == "2")
    with session_scope() as s:
        ensure_catalog_provider(s, tax)
        world["provider"] = {"code": tax, "token": issue_provider_token(s, tax)}
    names = {a["uscc"]: a["name"] for a in manifest.get("truth", {}).get("accounts", [])}
    for e in world["enterprises"]:
        e["name"] = names.get(e["uscc"], "压测企业")
    return world


def request_files(world: dict, out: Path) -> dict[str, Path]:
    rng = random.Random(7)
    lines: dict[str, list[str]] = {k: [] for k in MIX}
    for e in world["enterprises"]:
        for _inst, token in world["banks"]:
            lines["profile"].append(f"GET\t/api/v1/enterprises/{e['uscc']}\t{token}\t")
            lines["evaluation"].append(f"GET\t/api/v1/enterprises/{e['uscc']}/evaluation\t{token}\t")
            claim = json.dumps({"uscc": e["uscc"], "category": "27",
                                "claims": {"不动产单元号": f"320102001001GB{rng.randrange(10**5):05d}F00010001"}},
                               ensure_ascii=False)
            lines["verification"].append(f"POST\t/api/v1/verifications\t{token}\t{claim}")
        lines["self"].append(f"GET\t/api/v1/me/credit\t{e['token']}\t")
    files = {}
    for kind, rows in lines.items():
        rng.shuffle(rows)
        path = out / f"requests-{kind}.tsv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        files[kind] = path
    return files


# --- processes --------------------------------------------------------------------------------------

def start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                            start_new_session=True)


def wait_http(url: str, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def tree_rss_kb(pid: int) -> dict[int, int]:
    """RSS of a process and all its descendants, by pid (from /proc)."""
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            out[p] = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return out


def wrk(url: str, requests: Path, connections: int, seconds: int, ids: Path | None = None,
        threads: int = 1) -> subprocess.Popen:
    env = {**os.environ, "FINCREDIT_WRK_REQUESTS": str(requests)}
    if ids is not None:
        env["FINCREDIT_WRK_IDS"] = str(ids)
    return subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                             "-s", str(ROOT / "bench/load/mix.lua"), url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)


def wrk_result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    line = next((x for x in out.splitlines() if x.startswith('{"requests"')), None)
    if line is None:
        raise SystemExit(f"wrk failed:\n{out}")
    r = json.loads(line)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


class Uploader(threading.Thread):
    """Batch uploads in the background: one small category-2 (欠税) batch every ``interval`` seconds."""

    def __init__(self, base: str, world: dict, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.base, self.world, self.interval = base, world, interval
        self.stop_event = threading.Event()
        self.sent = self.ok = 0
        self.errors: list[str] = []

    def run(self) -> None:
        import httpx

        rng = random.Random(11)
        headers = {"Authorization": f"Bearer {self.world['provider']['token']}"}
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self.stop_event.wait(self.interval):
                buf = io.StringIO()
                w = csv.writer(buf)
                w.writerow(["企业名称", "统一社会信用代码", "税种", "欠税金额(元)", "当前是否欠税"])
                for e in rng.sample(self.world["enterprises"], k=min(20, len(self.world["enterprises"]))):
                    w.writerow([e["name"], e["uscc"], "增值税", f"{rng.randrange(10**7) / 100:.2f}", "是"])
                files = {"file": (f"load-{self.sent}.csv", buf.getvalue().encode(), "text/csv")}
                self.sent += 1
                r = client.post("/api/v1/batches", data={"category": "2"}, files=files, headers=headers)
                if r.status_code in (200, 201):
                    self.ok += 1
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")


def disclosure_ids() -> set[str]:
    from sqlalchemy import select

    from fincredit.db import session_scope
    from fincredit.disclosure.models import Disclosure

    with session_scope() as s:
        return set(s.scalars(select(Disclosure.id)))


def ledger_commits(ids: set[str]) -> int:
    """How many appends recorded these disclosures: the entries of one append (a group of the ledger's
    appender, or a direct append) share its timestamp."""
    from sqlalchemy import func, select

    from fincredit.db import session_scope
    from fincredit.disclosure.models import Disclosure
    from fincredit.ledger.models import LedgerEntry

    wanted, commits = sorted(ids), set()
    with session_scope() as s:
        for i in range(0, len(wanted), 5000):
            commits.update(s.scalars(select(func.distinct(LedgerEntry.created_at))
                                     .join(Disclosure, Disclosure.ledger_index == LedgerEntry.index)
                                     .where(Disclosure.id.in_(wanted[i:i + 5000]))))
    return len(commits)


def check_disclosures(before: set[str], id_files: list[Path], connections: int) -> dict:
    answered: list[str] = []
    for path in id_files:
        answered += [x for x in path.read_text().split() if x]
    after = disclosure_ids()
    new = after - before
    return {"answered_200": len(answered), "recorded": len(new), "answered_not_recorded": len(set(answered) - new),
            "duplicates_answered": len(answered) - len(set(answered)),
            "recorded_not_received": len(new - set(answered)), "in_flight_bound": connections,
            "ledger_commits": ledger_commits(new)}


# --- phases ---------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--enterprises", type=int, default=1000, help="size of the synthetic province")
    ap.add_argument("--subjects", type=int, default=200, help="enterprises with accounts and authorizations")
    ap.add_argument("--duration", type=int, default=30, help="seconds per phase")
    ap.add_argument("--api-workers", type=int, default=2)
    ap.add_argument("--soak", type=int, default=0, help="seconds of soak after the phases (0: none)")
    ap.add_argument("--reuse", action="store_true", help="re-use the world of the last run in --data-dir")
    ap.add_argument("--soak-only", action="store_true", help="re-use the world and skip the phases")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/fincredit-load"))
    ap.add_argument("--port", type=int, default=18600)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu, wrk 4.1.0)")

    sys.path.insert(0, str(ROOT))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FINCREDIT_DATA_DIR"] = str(args.data_dir)
    world_file = args.data_dir / "world.json"
    if args.soak_only or args.reuse:
        os.environ["FINCREDIT_DATABASE_URL"] = json.loads(world_file.read_text())["url"]
        world = json.loads(world_file.read_text())
    else:
        from bench.fresh_db import fresh_database

        os.environ["FINCREDIT_DATABASE_URL"] = fresh_database(args.pg_url, args.data_dir, "load")
        t0 = time.monotonic()
        world = build_world(args.data_dir, args.enterprises, args.subjects)
        world["url"] = os.environ["FINCREDIT_DATABASE_URL"]
        world["setup_seconds"] = round(time.monotonic() - t0, 1)
        world_file.write_text(json.dumps(world, ensure_ascii=False))
    files = request_files(world, args.data_dir)

    env = {**os.environ, "FINCREDIT_INSTITUTION_RATE_PER_MINUTE": str(10**9),
           "FINCREDIT_ALLOW_PRIVATE_WEBHOOKS": "true"}
    api_port, ceiling_port, floor_port = args.port, args.port + 1, args.port + 2
    api_url, ceiling_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ceiling_port}"
    floor_modes = {"floor": "single", "group_floor": "group", "read_group_floor": "read_group"}  # bench/load/floor.py
    floor_urls = {name: f"http://127.0.0.1:{floor_port + i}" for i, name in enumerate(floor_modes)}
    logs = args.data_dir
    api = start([str(FINCREDIT), "serve", "--port", str(api_port), "--workers", str(args.api_workers)],
                logs / "api.log", env)
    worker = start([str(FINCREDIT), "worker"], logs / "worker.log", env)
    procs = [api, worker]
    try:
        wait_http(api_url + "/healthz")
        import httpx

        bank = world["banks"][0][1]
        sizes = [len(httpx.get(f"{api_url}/api/v1/enterprises/{e['uscc']}", timeout=30,
                               headers={"Authorization": f"Bearer {bank}"}).content)
                 for e in world["enterprises"][:50]]
        size = round(sum(sizes) / len(sizes))
        ceiling = start([sys.executable, "-m", "uvicorn", "bench.load.ceiling:app", "--port", str(ceiling_port),
                         "--workers", str(args.api_workers), "--http", "httptools", "--loop", "uvloop",
                         "--log-level", "warning", "--no-access-log", "--timeout-worker-healthcheck", "120"], logs / "ceiling.log",
                        {**env, "FINCREDIT_CEILING_BYTES": str(size)})
        procs.append(ceiling)
        wait_http(ceiling_url + "/api/v1/enterprises/x")
        floor_dsn = os.environ["FINCREDIT_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        if not args.soak_only:
            from bench.load.floor import prepare

            prepare(floor_dsn, [e["uscc"] for e in world["enterprises"]])
            for name, url in floor_urls.items():
                procs.append(start(
                    [sys.executable, "-m", "uvicorn", "bench.load.floor:app", "--port", url.rsplit(":", 1)[1],
                     "--workers", str(args.api_workers), "--http", "httptools", "--loop", "uvloop",
                     "--log-level", "warning", "--no-access-log", "--timeout-worker-healthcheck", "120"],
                    logs / f"{name}.log", {**env, "FINCREDIT_CEILING_BYTES": str(size), "FINCREDIT_FLOOR_DSN": floor_dsn,
                                           "FINCREDIT_FLOOR_MODE": floor_modes[name]}))
                wait_http(url + "/api/v1/enterprises/x")
            results = phases(args, world, files, api_url, ceiling_url, size, floor_urls, floor_dsn)
            (args.data_dir / "main.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
        if args.soak:
            soak = run_soak(args, world, files, api_url, api.pid, worker.pid)
            (args.data_dir / "soak.json").write_text(json.dumps(soak, ensure_ascii=False, indent=1))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 2)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
    if args.report:
        from bench.load.report import write_report

        write_report(args.report, args.data_dir)


def phases(args, world: dict, files: dict[str, Path], api_url: str, ceiling_url: str, size: int,  # type: ignore[no-untyped-def]
           floor_urls: dict[str, str], floor_dsn: str) -> dict:
    d, out = args.duration, args.data_dir
    results: dict = {"enterprises": args.enterprises, "subjects": len(world["enterprises"]),
                     "setup_seconds": world.get("setup_seconds"), "api_workers": args.api_workers,
                     "response_bytes": size, "duration": d, "cpus": os.cpu_count()}
    wrk_result(wrk(api_url, files["profile"], 8, 5))  # warm-up
    ceiling_req = out / "requests-ceiling.tsv"
    ceiling_req.write_text(files["profile"].read_text().split("\n", 1)[0] + "\n")

    results["load_ceiling"] = loadavg()
    results["ceiling"] = wrk_result(wrk(ceiling_url, ceiling_req, 32, d, threads=2))

    from bench.load.floor import logged

    counted = logged(floor_dsn)
    for name, url in floor_urls.items():  # the floors: rows logged and transactions, per phase
        results[f"load_{name}"] = loadavg()
        results[name] = wrk_result(wrk(url, files["profile"], 32, d, threads=2))
        time.sleep(1)
        now = logged(floor_dsn)
        results[f"{name}_logged"], results[f"{name}_transactions"] = now[0] - counted[0], now[1] - counted[1]
        counted = now

    results["load_profile"] = loadavg()
    before = disclosure_ids()
    results["profile"] = wrk_result(wrk(api_url, files["profile"], 32, d, ids=out / "ids-profile.txt", threads=2))
    time.sleep(1)
    results["profile_disclosures"] = check_disclosures(before, [out / "ids-profile.txt"], 32)

    results["load_mix"] = loadavg()
    uploader = Uploader(api_url, world)
    uploader.start()
    before = disclosure_ids()
    running = {k: wrk(api_url, files[k], c, d, ids=out / f"ids-mix-{k}.txt" if k != "self" else None)
               for k, c in MIX.items()}
    results["mix"] = {k: wrk_result(p) for k, p in running.items()}
    uploader.stop_event.set()
    uploader.join(90)
    time.sleep(1)
    results["mix_disclosures"] = check_disclosures(
        before, [out / f"ids-mix-{k}.txt" for k in MIX if k != "self"], sum(MIX.values()))
    results["uploads"] = {"sent": uploader.sent, "ok": uploader.ok, "errors": uploader.errors[:5]}
    results["load_end"] = loadavg()
    print(json.dumps(results, ensure_ascii=False, indent=1))
    return results


def run_soak(args, world: dict, files: dict[str, Path], api_url: str, api_pid: int, worker_pid: int) -> dict:  # type: ignore[no-untyped-def]
    out = args.data_dir
    uploader = Uploader(api_url, world, interval=2.0)
    uploader.start()
    started = time.monotonic()
    load_start = loadavg()
    before = disclosure_ids()
    running = {k: wrk(api_url, files[k], c, args.soak, ids=out / f"ids-soak-{k}.txt" if k != "self" else None)
               for k, c in MIX.items()}
    samples = []
    while any(p.poll() is None for p in running.values()):
        api_rss = tree_rss_kb(api_pid)
        samples.append({"t": round(time.monotonic() - started), "api_kb": api_rss,
                        "worker_kb": sum(tree_rss_kb(worker_pid).values()), "load": loadavg()})
        for _ in range(100):
            if all(p.poll() is not None for p in running.values()):
                break
            time.sleep(0.1)
    result = {"seconds": args.soak, "load_start": load_start, "load_end": loadavg(),
              "wrk": {k: wrk_result(p) for k, p in running.items()}, "samples": samples}
    uploader.stop_event.set()
    uploader.join(90)
    time.sleep(1)
    result["disclosures"] = check_disclosures(before, [out / f"ids-soak-{k}.txt" for k in MIX if k != "self"],
                                              sum(MIX.values()))
    result["uploads"] = {"sent": uploader.sent, "ok": uploader.ok, "errors": uploader.errors[:5]}
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, ensure_ascii=False, indent=1))
    return result


if __name__ == "__main__":
    main()
