"""Statistics figures against plain-Python counts over the facts the test world created."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest

from tests.helpers import auth, error_code
from tests.statistics.world import LAST_MONTH, THIS_MONTH, TODAY, World, at, build_world

URL = "/api/v1/statistics"


@pytest.fixture
def world(db: str) -> World:
    return build_world()


def get(client, token: str, path: str, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"{URL}/{path}", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response


def rows(client, token: str, figure: str, **params) -> dict:  # type: ignore[no-untyped-def]
    return {r["key"]: r for r in get(client, token, figure, **params).json()["rows"]}


def city_of(world: World) -> dict[str, str]:
    return {e["uscc"]: e["city"] for e in world.enterprises}


def test_registrations_by_city(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    got = rows(client, admin_token, "registrations", by="city", period=THIS_MONTH.strftime("%Y-%m"))
    expect: dict[str, dict] = defaultdict(lambda: {"created": 0, "cum": 0, "live": 0})
    for e in world.enterprises:
        x = expect[e["city"]]
        x["live"] += e["live"]
        if e["account_at"]:
            x["cum"] += 1
            x["created"] += e["account_at"] >= at(THIS_MONTH, 0)
    for city, x in expect.items():
        assert got[city]["accounts_created"] == x["created"]
        assert got[city]["accounts_cumulative"] == x["cum"]
        assert got[city]["live_enterprises"] == x["live"]
        assert got[city]["registered_share"] == round(x["cum"] / x["live"], 4)


def test_authorizations_by_institution(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    got = rows(client, admin_token, "authorizations", by="institution")
    for bank in world.banks:
        mine = [a for a in world.authorizations if a["institution"] == bank]
        assert got[str(bank)]["granted"] == len(mine)
        assert got[str(bank)]["revoked"] == sum(1 for a in mine if a["revoked"])
        assert got[str(bank)]["uses"] == sum(1 for u in world.uses if u["institution"] == bank)
    month = rows(client, admin_token, "authorizations", period=LAST_MONTH.strftime("%Y-%m"))["total"]
    assert month["granted"] == sum(1 for a in world.authorizations if a["created"] < at(THIS_MONTH, 0))
    assert month["uses"] == sum(1 for u in world.uses if u["at"] < at(THIS_MONTH, 0))


def test_disclosures_by_city(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    got = rows(client, admin_token, "disclosures", by="city")
    cities = city_of(world)
    expect: dict[str, int] = defaultdict(int)
    for d in world.disclosures:
        expect[cities[d["uscc"]]] += 1
    assert {k: v["disclosures"] for k, v in got.items()} == dict(expect)


def _balance(loan: dict) -> float:
    if any(k == "settled" for k, _a, _d in loan["events"]):
        return 0.0
    return loan["amount"] - sum(a for k, a, _d in loan["events"] if k == "repaid")


def test_loans_by_city_and_institution(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    cities = city_of(world)
    for by, key in (("city", lambda ln: cities[ln["uscc"]]), ("institution", lambda ln: str(ln["institution"]))):
        got = rows(client, admin_token, "loans", by=by, **{"from": THIS_MONTH.isoformat()})
        groups: dict[str, list] = defaultdict(list)
        for loan in world.loans:
            groups[key(loan)].append(loan)
        assert set(got) == set(groups)
        for k, loans in groups.items():
            new = [ln for ln in loans if ln["on"] >= THIS_MONTH]
            bal = sum(_balance(ln) for ln in loans)
            credit = sum(_balance(ln) for ln in loans if ln["credit"])
            assert got[k]["loans_granted"] == len(new)
            assert got[k]["amount_wan"] == pytest.approx(sum(ln["amount"] for ln in new))
            assert got[k]["first_loans"] == sum(1 for ln in new if ln["first"])
            assert got[k]["balance_wan"] == pytest.approx(bal)
            assert got[k]["credit_balance_wan"] == pytest.approx(credit)
            assert got[k]["overdue_rate"] == round(
                sum(1 for ln in loans if any(e[0] == "overdue" for e in ln["events"])) / len(loans), 4)
            assert got[k]["default_rate"] == round(
                sum(1 for ln in loans if any(e[0] == "defaulted" for e in ln["events"])) / len(loans), 4)


def test_loan_balances_agree_with_financing_figures(session, world) -> None:  # type: ignore[no-untyped-def]
    from fincredit.financing.figures import balances
    from fincredit.statistics import figures as F

    ours = {r["key"]: r["balance_wan"] for r in F.loans(session, F.Period(None, TODAY), "institution")}
    theirs = {str(r["key"]): r["balance_wan"] for r in balances(session, "institution", TODAY)}
    assert ours == pytest.approx(theirs)


def test_collection_and_objections(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    got = rows(client, admin_token, "collection", by="provider")
    for prov in {b["provider"] for b in world.batches}:
        mine = [b for b in world.batches if b["provider"] == prov]
        assert got[prov]["batches"] == len(mine)
        assert got[prov]["accepted"] == sum(b["accepted"] for b in mine)
        assert got[prov]["rejected"] == sum(b["rows"] - b["accepted"] for b in mine)
    obj = rows(client, admin_token, "objections")["total"]
    assert obj["received"] == len(world.objections)
    on_time = sum(1 for o in world.objections if o["forwarded"] and o["forwarded"] <= o["deadline"])
    assert obj["forwarded_within_deadline"] == on_time
    assert obj["forwarded_within_deadline_share"] == round(on_time / len(world.objections), 4)
    assert obj["corrected"] == sum(1 for o in world.objections if o["outcome"] == "corrected")


def test_csv_matches_json(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    data = get(client, admin_token, "loans", by="city").json()["rows"]
    response = get(client, admin_token, "loans", by="city", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][0] == "分组" and "期末贷款余额（万元）" in table[0]
    assert len(table) == len(data) + 1
    col = table[0].index("期末贷款余额（万元）")
    assert {r[0]: float(r[col]) for r in table[1:]} == {r["key"]: r["balance_wan"] for r in data}


def test_overview_progress(client, admin_token, world) -> None:  # type: ignore[no-untyped-def]
    body = get(client, admin_token, "overview").json()
    assert body["target_date"] == "2025-07-16"
    accounts = sum(1 for e in world.enterprises if e["account_at"])
    reg = body["targets"]["registered_enterprises"]
    assert reg["current"] == accounts
    assert reg["progress"] == round(accounts / 1_500_000, 4)
    assert reg["trend"]["available"] is True and reg["trend"]["months"] == 2
    bal = sum(_balance(ln) for ln in world.loans)
    assert body["targets"]["loan_balance_wan"]["current"] == pytest.approx(bal)
    credit = sum(_balance(ln) for ln in world.loans if ln["credit"])
    assert body["targets"]["credit_loan_share"]["current"] == round(credit / bal, 4)
    assert set(body["cities"]) == {"320100", "320200"}
    nanjing = body["cities"]["320100"]["registered_enterprises"]
    assert nanjing["current"] == sum(1 for e in world.enterprises if e["account_at"] and e["city"] == "320100")


def test_trend_needs_two_months(client, admin_token, db) -> None:  # type: ignore[no-untyped-def]
    body = get(client, admin_token, "overview").json()
    trend = body["targets"]["registered_enterprises"]["trend"]
    assert trend["available"] is False and trend["note"]


@pytest.mark.parametrize(("params", "code"), [
    ({"period": f"{TODAY.year + 1}-01"}, "period_in_future"),
    ({"period": "2024-13"}, "bad_period"),
    ({"from": "2024-05-01", "to": "2024-04-01"}, "bad_period"),
    ({"from": "yesterday"}, "bad_period"),
    ({"region": "999999"}, "unknown_region"),
    ({"industry": "??"}, "unknown_industry"),
    ({"by": "provider"}, "bad_dimension"),
])
def test_bad_input(client, admin_token, params, code) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{URL}/loans", params=params, headers=auth(admin_token))
    assert response.status_code == 422, response.text
    assert error_code(response) == code


def test_unknown_figure_and_roles(client, admin_token, make_token) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"{URL}/nonsense", headers=auth(admin_token)).status_code == 404
    assert client.get(f"{URL}/overview", headers=auth(make_token("institution", "1"))).status_code == 403
    assert client.get(f"{URL}/overview").status_code == 401
