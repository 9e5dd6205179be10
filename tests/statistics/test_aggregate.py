"""The statistics aggregate against the facts: after a random sequence of fact writes through the real
services — enterprises entering and changing in the registration base, real-name registrations, loans
reported and their events (repayments, overdue, default, settlement) — every registrations and loans
figure, by every breakdown and filter, read from the aggregate equals the figure computed from the facts
(``figures.*_from_facts``), and so do the month series; ``rebuild`` recomputes the same tables and
``check`` finds nothing to correct."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.cli import app
from fincredit.db import session_scope
from fincredit.financing import loans as loan_service
from fincredit.financing.models import Loan, Product
from fincredit.registry import accounts
from fincredit.registry.models import Account
from fincredit.registry.service import (
    F_NAME,
    F_REP_ID,
    F_REP_ID_TYPE,
    F_REP_NAME,
    F_USCC,
    upsert_from_base_rows,
)
from fincredit.statistics import aggregate
from fincredit.statistics import figures as F
from fincredit.statistics import series as S
from fincredit.statistics.models import LoanMonth, RegistrationMonth
from tests.trust.factories import (
    EnterpriseInfo,
    grant,
    make_institution,
    make_person_name,
    make_resident_id,
    make_uscc,
)

TODAY = dt.date.today()
runner = CliRunner()
REGIONS = ("320102", "320106", "320211", "320213", "320583", "321002")
INDUSTRIES = ("C13", "C39", "F51", "I65", "A01")
STATUSES = ("存续", "在业", "存续", "注销")


def base_row(rng: random.Random, uscc: str, name: str, rep: tuple[str, str]) -> dict:
    return {F_USCC: uscc, F_NAME: name, "登记状态": rng.choice(STATUSES), "行业代码": rng.choice(INDUSTRIES),
            "住所所在地行政区划代码": rng.choice(REGIONS), "从业人数": rng.choice((5, 40, 150, 600)),
            "营业收入(万元)": rng.choice((50, 800, 5000, 60000)), F_REP_NAME: rep[0], F_REP_ID: rep[1],
            F_REP_ID_TYPE: "居民身份证", "成立日期": "2016-03-01"}


def day_before(rng: random.Random, days: int) -> dt.date:
    return TODAY - dt.timedelta(days=rng.randint(0, days))


def write_facts(seed: int) -> None:
    """A random sequence of writes, each in its own transaction as the services make them."""
    rng = random.Random(seed)
    with session_scope() as s:
        banks = [make_institution(s) for _ in range(3)]
        products = []
        for bank in banks[:2]:
            product = Product(institution_id=bank.id, name="普惠信用贷", type="credit", amount_min_wan=Decimal(1),
                              amount_max_wan=Decimal(1000), term_min_months=1, term_max_months=36,
                              rate_min=Decimal("3"), rate_max=Decimal("6"))
            s.add(product)
            s.flush()
            products.append(product)
        bank_ids, product_of = [b.id for b in banks], {p.institution_id: p.id for p in products}
    people = {}
    usccs = [make_uscc() for _ in range(14)]
    for i in range(0, len(usccs), 5):  # the base arrives in batches
        rows = []
        for uscc in usccs[i:i + 5]:
            people[uscc] = (make_person_name(), make_resident_id())
            rows.append((None, base_row(rng, uscc, f"江苏统计{uscc[-6:]}有限公司", people[uscc])))
        with session_scope() as s:
            upsert_from_base_rows(s, rows)
    registered = []
    for uscc in usccs[:11]:
        with session_scope() as s:
            if not accounts.is_live(s.get(accounts.Enterprise, uscc).status):
                continue
            name, id_number = people[uscc]
            accounts.register(s, uscc=uscc, legal_representative_name=name, legal_representative_id=id_number,
                              password="Tongji#2026ab")
            registered.append(uscc)
    with session_scope() as s:  # accounts opened over the last months (a correction of the creation time)
        for uscc in registered:
            when = dt.datetime.combine(day_before(rng, 150), dt.time(rng.randint(0, 23)), dt.UTC)
            s.execute(select(Account).where(Account.uscc == uscc)).scalar_one().created_at = when
    loan_ids: list[tuple[int, int]] = []
    for uscc in registered:
        for _ in range(rng.randint(1, 3)):
            bank = rng.choice(bank_ids)
            with session_scope() as s:
                grant(s, EnterpriseInfo(uscc, "", None), _institution(s, bank), ["1"])  # type: ignore[arg-type]
                data = {"uscc": uscc, "amount": Decimal(rng.randint(10, 900)) + Decimal(rng.randint(0, 99)) / 100,
                        "term_months": 12, "rate": Decimal("4.2"), "credit_loan": rng.random() < 0.4,
                        "first_loan": rng.random() < 0.3, "granted_on": day_before(rng, 140),
                        "product_id": product_of.get(bank) if rng.random() < 0.7 else None}
                loan = loan_service.report_loan(s, Principal(role=Role.institution, subject=str(bank)), data,
                                                today=TODAY)
                loan_ids.append((loan.id, bank))
    for loan_id, bank in loan_ids:
        principal = Principal(role=Role.institution, subject=str(bank))
        with session_scope() as s:
            granted_on = s.get(Loan, loan_id).granted_on
        on = granted_on
        for _ in range(rng.randint(0, 4)):
            on = min(TODAY, on + dt.timedelta(days=rng.randint(0, 40)))
            kind = rng.choice(("repaid", "repaid", "overdue", "defaulted", "settled"))
            with session_scope() as s:
                loan = s.get(Loan, loan_id)
                if loan.status == "settled":
                    break
                left = loan_service.outstanding(loan, loan_service.events_of(s, loan_id))
                amount = None
                if kind == "repaid":
                    amount = min(left, Decimal(rng.randint(1, 200)))
                    if amount <= 0:
                        continue
                loan_service.add_event(s, principal, loan_id, kind, amount, on)
    # The base changes: enterprises move to another city or industry, grow, or are deregistered; their
    # accounts and loans move with them.
    changed = rng.sample(usccs, 5)
    with session_scope() as s:
        upsert_from_base_rows(s, [(None, base_row(rng, u, f"江苏统计{u[-6:]}有限公司", people[u])) for u in changed])


def _institution(session, bank_id: int):  # type: ignore[no-untyped-def]
    from fincredit.institutions.models import Institution

    return session.get(Institution, bank_id)


def periods() -> list[F.Period]:
    this = TODAY.replace(day=1)
    out = [F.Period(None, TODAY), F.Period(this, TODAY), F.Period(None, this - dt.timedelta(days=1)),
           F.Period(TODAY - dt.timedelta(days=45), TODAY - dt.timedelta(days=9)),
           F.Period(None, TODAY - dt.timedelta(days=17))]
    m = this
    for _ in range(6):
        last = m - dt.timedelta(days=1)
        m = last.replace(day=1)
        out.append(F.Period(m, last))
    return out


FILTERS = (F.Filters(), F.Filters(region="32"), F.Filters(region="3201"), F.Filters(industry="C"),
           F.Filters(region="3202", industry="F"), F.Filters(region="320102"), F.Filters(industry="C13"))


def nonempty(grouped: dict) -> dict:
    return {k: g for k, g in grouped.items() if g["live"] or g["months"]}


def assert_aggregate_equals_facts(session) -> None:  # type: ignore[no-untyped-def]
    for name in ("registrations", "loans"):
        for by in ("", *F.FIGURE_DIMENSIONS[name]):
            for filters in FILTERS:
                if filters != F.Filters() and by in ("institution", "product"):
                    continue
                for p in periods():
                    got = F.FIGURES[name](session, p, by, filters)
                    assert got == F.FACT_FIGURES[name](session, p, by, filters), (name, by, filters, p)
    ends = S.month_ends(TODAY - dt.timedelta(days=200), TODAY)
    for by in ("", "city", "industry", "size_class"):
        for filters in FILTERS[:5]:
            assert nonempty(S.registrations_grouped(session, TODAY, by, filters)) == nonempty(
                S.registrations_grouped_from_facts(session, TODAY, by, filters)), (by, filters)
            assert S.registrations_by_month(session, TODAY, by, filters) == dict(
                S.registrations_by_month_from_facts(session, TODAY, by, filters)), (by, filters)
            got = S.balances_by_month(session, TODAY, by, filters)
            want = S.balances_by_month_from_facts(session, TODAY, by, filters)
            for key in set(got) | set(want):
                for i in (0, 1):
                    assert (S.cumulative({m: v[i] for m, v in got.get(key, {}).items()}, ends)
                            == S.cumulative({m: v[i] for m, v in want.get(key, {}).items()}, ends)), (by, filters, key)


@pytest.mark.parametrize("seed", [11, 2026])
def test_every_figure_from_the_aggregate_equals_the_facts(db: str, seed: int) -> None:
    write_facts(seed)
    with session_scope() as s:
        # The aggregate is really there (and the figures are not answered from the facts).
        assert s.scalar(select(func.count()).select_from(LoanMonth)) > 0
        assert s.scalar(select(func.count()).select_from(RegistrationMonth)) > 0
        assert s.scalar(select(func.sum(LoanMonth.granted))) == s.scalar(select(func.count()).select_from(Loan))
        assert aggregate.check(s) == {}
        assert_aggregate_equals_facts(s)


def test_rebuild_recomputes_the_same_tables_and_check_finds_drift(db: str) -> None:
    write_facts(7)
    with session_scope() as s:
        kept = aggregate.nonzero(aggregate.stored(s))
    result = runner.invoke(app, ["statistics", "check"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["statistics", "rebuild"])
    assert result.exit_code == 0, result.output
    with session_scope() as s:
        assert aggregate.nonzero(aggregate.stored(s)) == kept
    # A sum that drifted (written behind the facts' back) is found, and a rebuild corrects it.
    with session_scope() as s:
        s.execute(update(LoanMonth).where(LoanMonth.id == s.scalar(select(func.min(LoanMonth.id))))
                  .values(granted=LoanMonth.granted + 1))
    result = runner.invoke(app, ["statistics", "check"])
    assert result.exit_code == 1 and "loans" in result.output
    with session_scope() as s:
        assert set(aggregate.check(s)) == {"loans"}
    assert runner.invoke(app, ["statistics", "rebuild"]).exit_code == 0
    assert runner.invoke(app, ["statistics", "check"]).exit_code == 0
    with session_scope() as s:
        assert aggregate.nonzero(aggregate.stored(s)) == kept
        assert_aggregate_equals_facts(s)
