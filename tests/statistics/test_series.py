"""The month-end series behind the target trends agree with the figures at every month end, and the
timeliness figure follows the catalog's update cycles and due dates."""

from __future__ import annotations

import datetime as dt

import pytest

from fincredit.catalog.service import get_catalog
from fincredit.collection.models import Provider
from fincredit.db import session_scope
from fincredit.statistics import figures as F
from fincredit.statistics import series as S
from tests.helpers import auth
from tests.statistics.world import LAST_MONTH, TODAY, World, build_world


@pytest.fixture
def world(db: str) -> World:
    return build_world()


def test_one_pass_of_registrations_gives_the_figure_of_every_month(session, world) -> None:  # type: ignore[no-untyped-def]
    """The overview and the report read registrations per city and month once; the figures they derive
    for whole months, for "since the beginning" and in total are the figure's own answers."""
    months = S.month_ends(LAST_MONTH - dt.timedelta(days=70), TODAY)
    for by in ("", "city", "industry", "size_class"):
        grouped = S.registrations_grouped(session, TODAY, by)
        for end in months:
            for p in (F.Period(end.replace(day=1), end), F.Period(None, end)):
                assert S.registration_rows(grouped, p) == F.registrations(session, p, by), (by, p)
                assert S.registration_rows(grouped, p, total=True) == F.registrations(session, p), (by, p)


def test_totals_summed_from_a_breakdown_equal_the_total_figures(session, world) -> None:  # type: ignore[no-untyped-def]
    for end in S.month_ends(LAST_MONTH - dt.timedelta(days=40), TODAY):
        for p in (F.Period(end.replace(day=1), end), F.Period(None, end)):
            for by in ("city", "industry", "size_class", "institution"):
                rows, total = F.loans_with_total(session, p, by)
                assert rows == F.loans(session, p, by)
                assert total == F.loans(session, p), (by, p)


def test_month_end_series_equal_the_figures(session, world) -> None:  # type: ignore[no-untyped-def]
    ends = S.month_ends(LAST_MONTH - dt.timedelta(days=40), TODAY)
    for by in ("", "city"):
        regs = S.registrations_by_month(session, TODAY, by)
        bals = S.balances_by_month(session, TODAY, by)
        for end in ends:
            p = F.Period(None, end)
            for row in F.registrations(session, p, by):
                got = dict(S.cumulative(regs.get(row["key"], {}), ends))[end]
                assert got == row["accounts_cumulative"], (by, row["key"], end)
            for row in F.loans(session, p, by):
                monthly = bals.get(row["key"], {})
                balance = dict(S.cumulative({m: v[0] for m, v in monthly.items()}, ends))[end]
                credit = dict(S.cumulative({m: v[1] for m, v in monthly.items()}, ends))[end]
                assert balance == pytest.approx(row["balance_wan"]), (by, row["key"], end)
                assert credit == pytest.approx(row["credit_balance_wan"]), (by, row["key"], end)


def test_timeliness_by_provider(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        catalog = get_catalog(s)
        # Responsible for a category that has never been delivered although its due date has passed.
        overdue = next(c for c in catalog.categories.values() if c.due and c.due < TODAY and c.code not in ("1", "2", "7"))
        s.add(Provider(code="tax", name="省税务局", categories=["1", "2", overdue.code]))
    response = client.get("/api/v1/statistics/timeliness", params={"by": "provider"}, headers=auth(admin_token))
    assert response.status_code == 200, response.text
    got = {r["key"]: r for r in response.json()["rows"]}
    hi = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)

    def on_time(provider: str, code: str) -> bool:
        newest = max(b["at"] for b in world.batches if b["provider"] == provider and b["category"] == code
                     and b["status"] != "rejected")
        return (hi - newest).total_seconds() <= catalog.categories[code].update_cycle_days * 86400

    # tax: "1" delivered; "2" only in a rejected batch (counts as nothing delivered); the overdue category.
    two_late = catalog.categories["2"].due is None or catalog.categories["2"].due <= TODAY
    expect_on_time = int(on_time("tax", "1"))
    assert got["tax"]["categories"] == 3
    assert got["tax"]["categories_on_time"] == expect_on_time
    assert got["tax"]["categories_late"] == (1 - expect_on_time) + int(two_late) + 1
    assert got["court"]["categories"] == 1 and got["court"]["categories_on_time"] == int(on_time("court", "7"))
