"""What ``fincredit demo`` does between init and serve: a small synthetic province, ingested by
its providers, evaluated, with an onboarded demo bank and a few registered enterprises.

Every step is idempotent: running the demo again re-uses the province and stores nothing twice.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from fincredit.db import session_scope
from fincredit.settings import get_settings

DEMO_PASSWORD = "Demo#2026Credit"  # noqa: S105 (published demo credential of the synthetic province)
DEMO_BANK = "演示银行江苏省分行"


def _province_dir(enterprises: int) -> Path:
    return get_settings().data_dir / f"demo-province-{enterprises}"


def _ensure_province(console: Console, enterprises: int) -> tuple[Path, dict]:
    from fincredit.synth.province import generate

    out = _province_dir(enterprises)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        console.print(f"生成合成省份：{enterprises} 家企业 → {out}")
        generate(out, enterprises, seed=2022)
    return out, json.loads(manifest_path.read_text(encoding="utf-8"))


def _ingest_all(console: Console, out: Path, manifest: dict) -> None:
    from fincredit.collection import provider_service, service

    files = sorted(manifest["files"], key=lambda f: (f["category"] != "base", f["path"]))
    columns = (TextColumn("[bold]归集[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    accepted = rejected = 0
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=len(files))
        for f in files:
            bar.update(task, description=f"{f['category']} {f['name']}")
            upload = service.uploaded_file(out / f["path"])
            with session_scope() as session:
                provider_service.ensure_catalog_provider(session, f["provider"])
                result = service.ingest(session, provider_code=f["provider"], category_code=f["category"],
                                        upload=upload, uploaded_by="demo")
                accepted += result.batch.accepted if result.created else 0
                rejected += result.batch.rejected if result.created else 0
            bar.advance(task)
    console.print(f"归集完成：{len(files)} 个批次，新入库 {accepted:,} 条，拒收 {rejected:,} 条")


def _evaluate(console: Console) -> None:
    from fincredit.evaluation import service

    with session_scope() as session:
        summary = service.evaluate_all(session, triggered_by="demo")
    grades = "，".join(f"{g} {n}" for g, n in summary.grade_counts.items())
    console.print(f"信用评价完成：{summary.enterprises:,} 家企业（{grades}），用时 {summary.seconds:.1f} 秒")


def _demo_bank(console: Console) -> str:
    from fincredit.institutions import service
    from fincredit.institutions.models import Institution

    with session_scope() as session:
        inst = session.scalar(select(Institution).where(Institution.name == DEMO_BANK,
                                                        Institution.status != "exited"))
        if inst is None:
            inst = service.create_institution(session, name=DEMO_BANK, kind="bank", actor="demo")
            for kind in ("security", "authorization"):
                service.record_assessment(session, inst.id, kind=kind, passed=True, note="演示：评估通过",
                                          actor="demo")
            service.change_status(session, inst.id, to_status="active", reason="演示接入", actor="demo")
        raw, _token = service.issue_institution_token(session, inst.id, name="演示令牌")
        console.print(f"接入机构：{DEMO_BANK}（编号 {inst.id}）令牌：[bold]{raw}[/bold]")
        return raw


def _demo_accounts(console: Console, manifest: dict) -> None:
    from fincredit.errors import DomainError
    from fincredit.registry import accounts

    shown = 0
    for acc in manifest.get("truth", {}).get("accounts", []):
        if acc.get("status") not in ("存续", "在业") or shown >= 3:
            continue
        try:
            with session_scope() as session:
                accounts.register(session, uscc=acc["uscc"], legal_representative_name=acc["legal_representative_name"],
                                  legal_representative_id=acc["legal_representative_id"], password=DEMO_PASSWORD)
        except DomainError as exc:
            if exc.code != "account_exists":
                continue
        console.print(f"企业账号：{acc['name']}  用户名（统一社会信用代码）{acc['uscc']}  密码 {DEMO_PASSWORD}")
        shown += 1


def load_demo_province(console: Console, enterprises: int) -> None:
    out, manifest = _ensure_province(console, enterprises)
    _ingest_all(console, out, manifest)
    _evaluate(console)
    _demo_bank(console)
    _demo_accounts(console, manifest)
