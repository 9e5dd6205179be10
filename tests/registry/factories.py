"""Enterprises of the registration base, created directly with the models and ``fincredit.crypto``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from stdnum.cn import uscc as stdnum_uscc

from fincredit.crypto import blind_index, sm4_encrypt
from fincredit.db import session_scope, utcnow
from fincredit.registry.models import Enterprise, Person, PersonRole

STRONG_PASSWORD = "Jiangsu-Credit2024"


def resident_id(area: str, birth: str, sequence: str) -> str:
    """An 18-digit resident ID with its ISO 7064 MOD 11-2 check digit, computed here independently."""
    body = area + birth + sequence
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def resident_id_ending_in_x(area: str, birth: str) -> str:
    for seq in range(1000):
        number = resident_id(area, birth, f"{seq:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError("unreachable")


def make_uscc(serial: int) -> str:
    body = f"91320102{serial:09d}"
    return body + stdnum_uscc.calc_check_digit(body)


@dataclass
class BaseEnterprise:
    uscc: str
    name: str
    rep_name: str
    rep_id: str


def _person(session, name: str, id_number: str) -> str:  # type: ignore[no-untyped-def]
    key = blind_index(id_number)
    if session.get(Person, key) is None:
        session.add(Person(key=key, id_type="居民身份证", id_number_enc=sm4_encrypt(id_number),
                           name_enc=sm4_encrypt(name)))
    return key


def make_enterprise(serial: int = 1, *, name: str = "南京白下商贸有限公司", status: str = "存续",
                    rep_name: str = "王建国", rep_id: str | None = None) -> BaseEnterprise:
    """A base enterprise whose legal representative was born in 1963 in the abolished 白下区 (320103)."""
    rep_id = rep_id or resident_id_ending_in_x("320103", "19630415")
    code = make_uscc(serial)
    with session_scope() as s:
        key = _person(s, rep_name, rep_id)
        s.add(Enterprise(uscc=code, name=name, status=status, industry_code="F5191", region_code="320102",
                         size_class="小型", established_on=dt.date(2005, 6, 1), registered_capital_wan=500.0,
                         legal_rep_key=key))
        s.flush()
        s.add(PersonRole(person_key=key, uscc=code, role="legal_representative"))
    return BaseEnterprise(uscc=code, name=name, rep_name=rep_name, rep_id=rep_id)


def change_legal_rep(uscc: str, name: str, id_number: str) -> None:
    """What a newer base batch naming another legal representative leaves in the registry."""
    with session_scope() as s:
        key = _person(s, name, id_number)
        now = utcnow()
        for role in s.scalars(select(PersonRole).where(PersonRole.uscc == uscc, PersonRole.until.is_(None))):
            role.until = now
        s.add(PersonRole(person_key=key, uscc=uscc, role="legal_representative", since=now))
        s.get(Enterprise, uscc).legal_rep_key = key


def registration(ent: BaseEnterprise, **overrides: str) -> dict[str, str]:
    body = {"uscc": ent.uscc, "legal_representative_name": ent.rep_name,
            "legal_representative_id": ent.rep_id, "password": STRONG_PASSWORD}
    return {**body, **overrides}


def login(client, uscc: str, password: str = STRONG_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", data={"grant_type": "password", "username": uscc,
                                                   "password": password})


def registered_enterprise_token(client, serial: int = 1) -> tuple[BaseEnterprise, str]:  # type: ignore[no-untyped-def]
    ent = make_enterprise(serial)
    r = client.post("/api/v1/accounts", json=registration(ent))
    assert r.status_code == 201, r.text
    r = login(client, ent.uscc)
    assert r.status_code == 200, r.text
    return ent, r.json()["access_token"]
