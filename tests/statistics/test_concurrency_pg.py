"""The statistics aggregate under concurrent writers (PostgreSQL): several threads, each with its own
sessions, report loans and loan events (repayments, overdue, default, settlement) for the same few
enterprises and register their accounts while the registration base moves those enterprises to other
cities, industries and size classes (and deregisters one). Afterwards ``statistics check`` finds nothing
to correct and every figure read from the aggregate equals the figure computed from the facts."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal

from sqlalchemy import func, select
from typer.testing import CliRunner

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.cli import app
from fincredit.db import session_scope
from fincredit.errors import DomainError
from fincredit.financing import batch as loan_batch
from fincredit.financing import loans as loan_service
from fincredit.financing.models import Loan, LoanEvent, Product
from fincredit.institutions.models import Institution
from fincredit.registry import accounts
from fincredit.registry.models import Account
from fincredit.registry.service import upsert_from_base_rows
from fincredit.statistics import aggregate
from tests.statistics.test_aggregate import TODAY, assert_aggregate_equals_facts, base_row
from tests.trust.factories import (
    EnterpriseInfo,
    grant,
    make_institution,
    make_person_name,
    make_resident_id,
    make_uscc,
)

runner = CliRunner()
ROUNDS = 12


def _setup(rng: random.Random) -> tuple[list[int], dict[int, int], list[str], dict[str, tuple[str, str]]]:
    with session_scope() as s:
        banks = [make_institution(s) for _ in range(2)]
        products = {}
        for bank in banks:
            product = Product(institution_id=bank.id, name="普惠信用贷", type="credit", amount_min_wan=Decimal(1),
                              amount_max_wan=Decimal(1000), term_min_months=1, term_max_months=36,
                              rate_min=Decimal("3"), rate_max=Decimal("6"))
            s.add(product)
            s.flush()
            products[bank.id] = product.id
        bank_ids = [b.id for b in banks]
    usccs = [make_uscc() for _ in range(5)]
    people = {u: (make_person_name(), make_resident_id()) for u in usccs}
    with session_scope() as s:
        rows = []
        for u in usccs:
            row = base_row(rng, u, f"江苏并发{u[-6:]}有限公司", people[u])
            row["登记状态"] = "存续"
            rows.append((None, row))
        upsert_from_base_rows(s, rows)
    for u in usccs:
        for bank in bank_ids:
            with session_scope() as s:
                grant(s, EnterpriseInfo(u, "", None), s.get(Institution, bank), ["1"])  # type: ignore[arg-type]
    return bank_ids, products, usccs, people


def _loan_data(rng: random.Random, uscc: str, product: int | None) -> dict:
    return {"uscc": uscc, "amount": Decimal(rng.randint(10, 900)) + Decimal(rng.randint(0, 99)) / 100,
            "term_months": 12, "rate": Decimal("4.2"), "credit_loan": rng.random() < 0.5,
            "first_loan": rng.random() < 0.3, "granted_on": TODAY - dt.timedelta(days=rng.randint(0, 70)),
            "product_id": product if rng.random() < 0.7 else None}


def _batch_file(rng: random.Random, usccs: list[str]) -> bytes:
    lines = ["统一社会信用代码,贷款金额(万元),期限(月),年利率(%),是否信用贷款,是否首贷,放款日期"]
    for _ in range(4):
        d = _loan_data(rng, rng.choice(usccs), None)
        lines.append(f"{d['uscc']},{d['amount']},12,4.2,{'是' if d['credit_loan'] else '否'},"
                     f"{'是' if d['first_loan'] else '否'},{d['granted_on'].isoformat()}")
    return ("\n".join(lines) + "\n").encode()


def test_concurrent_writers_keep_the_aggregate_equal_to_the_facts(db: str) -> None:
    rng = random.Random(42)
    bank_ids, products, usccs, people = _setup(rng)
    start = threading.Barrier(5)
    failures: list[BaseException] = []
    refused: list[str] = []

    def run(worker) -> None:  # type: ignore[no-untyped-def]
        def target() -> None:
            try:
                start.wait()
                worker()
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                failures.append(exc)
        return threading.Thread(target=target)

    def lender(seed: int) -> None:
        r = random.Random(seed)
        bank = bank_ids[seed % 2]
        principal = Principal(role=Role.institution, subject=str(bank))
        for _ in range(ROUNDS):
            try:
                with session_scope() as s:
                    if r.random() < 0.4:
                        loan_service.report_loan(s, principal, _loan_data(r, r.choice(usccs), products[bank]),
                                                 today=TODAY)
                        continue
                    ids = list(s.scalars(select(Loan.id).where(Loan.institution_id == bank,
                                                               Loan.status != "settled")))
                    if not ids:
                        continue
                    loan_id = r.choice(ids)
                    kind = r.choice(("repaid", "repaid", "overdue", "defaulted", "settled"))
                    amount = None
                    if kind == "repaid":
                        loan = s.get(Loan, loan_id)
                        left = loan_service.outstanding(loan, loan_service.events_of(s, loan_id))
                        amount = min(left, Decimal(r.randint(1, 300)))
                        if amount <= 0:
                            continue
                    loan_service.add_event(s, principal, loan_id, kind, amount, TODAY)
            except DomainError as exc:  # a loan settled meanwhile by the other lender thread, etc.
                refused.append(exc.code)

    def batch_lender() -> None:
        r = random.Random(7)
        bank = bank_ids[0]
        principal = Principal(role=Role.institution, subject=str(bank))
        for _ in range(4):
            with session_scope() as s:
                loan_batch.ingest_batch(s, principal, _batch_file(r, usccs), today=TODAY)

    def registrar() -> None:
        for u in usccs:
            name, id_number = people[u]
            try:
                with session_scope() as s:
                    accounts.register(s, uscc=u, legal_representative_name=name,
                                      legal_representative_id=id_number, password="Bingfa#2026ab")
            except DomainError as exc:  # deregistered by the base meanwhile
                refused.append(exc.code)

    def base() -> None:
        r = random.Random(99)
        for i in range(ROUNDS // 2):
            rows = []
            for u in r.sample(usccs, 3):
                row = base_row(r, u, f"江苏并发{u[-6:]}有限公司", people[u])
                if u != usccs[-1] or i < 2:
                    row["登记状态"] = r.choice(("存续", "在业"))
                rows.append((None, row))
            with session_scope() as s:
                upsert_from_base_rows(s, rows)

    threads = [run(lambda: lender(1)), run(lambda: lender(2)), run(batch_lender), run(registrar), run(base)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert failures == [], failures
    with session_scope() as s:
        # The writers really wrote, concurrently, to these enterprises.
        assert s.scalar(select(func.count()).select_from(Loan)) >= 10
        assert s.scalar(select(func.count()).select_from(LoanEvent)) >= 5
        assert s.scalar(select(func.count()).select_from(Account)) >= 1
        assert aggregate.check(s) == {}
        assert_aggregate_equals_facts(s)
    result = runner.invoke(app, ["statistics", "check"])
    assert result.exit_code == 0, result.output
