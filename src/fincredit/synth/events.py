"""Planted events: which firm gets which record, drawn from its latent health.

A negative event has probability ``sigmoid(a - slope * health)`` (a positive event has a negative
slope), where the intercept ``a`` is calibrated so that ``rate`` is the share of eligible firms
that get it.
Coverage flags (who pays social insurance, who has a water account …) depend on activity and size.
Every event is planted at least ``MIN_COUNT`` times (on the weakest / strongest eligible firms)
so that every category has records even in a small province. The flags are the ground truth
written to ``truth.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fincredit.synth.industries import INDUSTRIAL_SECTIONS, TECH_PREFIXES
from fincredit.synth.population import Population, sigmoid, stream

MIN_COUNT = 3


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    rate: float
    slope: float  # > 0: weak firms more likely (negative event); < 0: strong firms more likely
    eligible: str  # name of an eligibility mask (see ``_masks``)
    negative: bool = True
    person: bool = False  # drawn once per legal representative (primary firm carries it)


EVENTS: tuple[Event, ...] = (
    Event("tax_arrears", 0.04, 1.5, "taxpayer"),
    Event("tax_arrears_settled", 0.05, 0.3, "taxpayer", negative=False),
    Event("abnormal_taxpayer", 0.015, 1.6, "registered"),
    Event("ss_arrears", 0.03, 1.4, "insured"),
    Event("headcount_falling", 0.07, 1.2, "insured"),
    Event("power_falling", 0.07, 1.2, "powered"),
    Event("power_arrears", 0.025, 1.4, "powered"),
    Event("water_arrears", 0.02, 1.4, "watered"),
    Event("gas_arrears", 0.02, 1.4, "gassed"),
    Event("court_defendant", 0.05, 1.3, "all"),
    Event("court_plaintiff", 0.03, -0.3, "all", negative=False),
    Event("ip_litigation", 0.004, 0.0, "tech", negative=False),
    Event("dishonest_firm", 0.01, 1.8, "all"),
    Event("enforcement", 0.01, 1.5, "all"),
    Event("simple_deregistration", 0.004, 1.2, "registered"),
    Event("suspension", 0.003, 1.2, "registered"),
    Event("labour_failed", 0.05, 1.2, "inspected"),
    Event("dishonest_rep", 0.012, 1.8, "all", person=True),
    Event("serious_person", 0.006, 1.8, "all", person=True),
    Event("high_tech", 0.06, -1.2, "tech", negative=False),
    Event("tech_support", 0.05, -1.0, "tech", negative=False),
    Event("specialised", 0.03, -1.3, "makers", negative=False),
    Event("demonstration", 0.006, -1.2, "registered", negative=False),
    Event("fiscal_funds", 0.015, -1.0, "registered", negative=False),
    Event("ip_pledge", 0.01, -0.8, "tech", negative=False),
    Event("agri_entity", 0.6, -0.3, "agri", negative=False),
    Event("environment_rated", 0.45, 0.0, "industrial", negative=False),
    Event("commitment", 0.10, 0.3, "all", negative=False),
    Event("commitment_broken", 0.10, 1.4, "committed"),
    Event("property", 0.10, -0.6, "registered", negative=False),
    Event("mortgage", 0.35, 0.4, "owner", negative=False),
    Event("person_property", 0.30, -0.4, "all", negative=False, person=True),
    Event("person_mortgage", 0.40, 0.3, "person_owner", negative=False, person=True),
    Event("guaranteed", 0.025, 0.5, "registered", negative=False),
)
NEGATIVE_EVENTS = tuple(e.name for e in EVENTS if e.negative)
COVERAGE = ("taxpayer", "insured", "housing_fund", "powered", "watered", "gassed", "inspected")


def intercept(rate: float, slope: float, health: np.ndarray) -> float:
    """The ``a`` with mean(sigmoid(a - slope * health)) = rate (bisection on a sample)."""
    sample = health[:20_000]
    if len(sample) == 0:
        return float(np.log(rate / (1 - rate)))
    low, high = -30.0, 30.0
    for _ in range(50):
        mid = (low + high) / 2
        if sigmoid(mid - slope * sample).mean() < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _draw(rng: np.random.Generator, rate: float, slope: float, health: np.ndarray, eligible: np.ndarray
          ) -> np.ndarray:
    a = intercept(rate, slope, health[eligible])
    hit = (rng.random(len(health)) < sigmoid(a - slope * health)) & eligible
    need = min(MIN_COUNT, int(eligible.sum())) - int(hit.sum())
    if need > 0:  # plant on the most likely eligible firms that were not drawn
        score = np.where(eligible & ~hit, -slope * health if slope else -np.arange(len(health)), -np.inf)
        hit[np.argsort(-score, kind="stable")[:need]] = True
    return hit


def plant(pop: Population) -> pl.DataFrame:
    """Boolean columns, one per coverage flag and event, aligned with ``pop.firms``."""
    rng = stream(pop.seed, "events")
    f = pop.firms
    n = pop.size
    health = f["health"].to_numpy()
    active = f["active"].to_numpy()
    employees = f["employees"].to_numpy()
    industry = f["industry"].to_numpy()
    section = industry.astype("U1")
    size = f["size_idx"].to_numpy()
    established = f["established"].to_numpy()
    registered = f["status"].to_numpy() != "注销"
    u = rng.random((7, n))
    out: dict[str, np.ndarray] = {
        "taxpayer": active & (u[0] < 0.95),
        "insured": active & (u[1] < np.where(employees >= 3, 0.9, 0.55)),
        "housing_fund": active & (u[2] < sigmoid(-1.3 + 0.5 * np.log(employees) + 0.4 * health)),
        "powered": active & (u[3] < 0.82),
        "watered": active & (u[4] < 0.55),
        "gassed": active & (u[5] < np.where(np.isin(section, ["C", "H"]), 0.45, 0.08)),
        "inspected": active & (employees >= 5) & (u[6] < 0.5),
    }
    tech = np.zeros(n, dtype=bool)
    for prefix in TECH_PREFIXES:
        tech |= np.char.startswith(industry.astype(str), prefix)
    masks = {
        "all": np.ones(n, dtype=bool),
        "registered": registered,
        "tech": tech & registered,
        "agri": (section == "A") & registered,
        "makers": (tech | (section == "C")) & registered,
        "industrial": np.isin(section, list(INDUSTRIAL_SECTIONS)) & active,
        **out,
    }
    # persons: the weakest of their firms decides
    person = f["person"].to_numpy()
    person_health = np.full(pop.persons.height, np.inf)
    np.minimum.at(person_health, person, health)
    primary = f["primary"].to_numpy()
    for event in EVENTS:
        if event.person:
            eligible = np.ones(pop.persons.height, dtype=bool)
            if event.eligible == "person_owner":
                eligible = out["person_property"][person_of_primary(person, primary, pop.persons.height)]
            drawn = _draw(rng, event.rate, event.slope, person_health, eligible)
            out[event.name] = drawn[person]  # every firm of the person shows the flag
            continue
        if event.eligible == "committed":
            eligible = out["commitment"]
        elif event.eligible == "owner":
            eligible = out["property"]
        else:
            eligible = masks[event.eligible]
        out[event.name] = _draw(rng, event.rate, event.slope, health, eligible)
    # firms founded within the last two years cannot yet be rated high-tech or 专精特新
    young = established > pop.as_of64 - np.timedelta64(730, "D")
    for name in ("high_tech", "specialised", "demonstration"):
        out[name] &= ~young | (size <= 1)
    status = f["status"].to_numpy()
    out["simple_deregistration"] |= (status == "注销") & (rng.random(n) < 0.6)
    out["suspension"] |= status == "歇业"
    return pl.DataFrame(out)


def person_of_primary(person: np.ndarray, primary: np.ndarray, count: int) -> np.ndarray:
    """For each person, the index of their primary firm."""
    idx = np.empty(count, dtype=np.int64)
    idx[person[primary]] = np.flatnonzero(primary)
    return idx
