"""USCCs (GB 32100) and resident IDs (GB 11643) carry valid check digits; legal representatives."""

from __future__ import annotations

from collections import Counter

from stdnum.cn import ric, uscc

from fincredit.catalog.definitions import load_annex
from fincredit.synth import Manifest
from fincredit.synth.regions import CITIES

from .readers import read_file


def _base(province: Manifest) -> list[dict[str, object]]:
    return read_file(province, province.file("base"))[1]


def test_every_uscc_in_base_is_valid(province: Manifest) -> None:
    rows = _base(province)
    codes = [str(r["统一社会信用代码"]) for r in rows]
    assert len(codes) == province.enterprises == len(set(codes))
    invalid = [c for c in codes if not uscc.is_valid(c)]
    assert invalid == []
    # registration authority 9, type 1, region = a Jiangsu district, organization code checked too
    assert all(c.startswith("9132") for c in codes)
    districts = {r["住所所在地行政区划代码"] for r in rows}
    assert all(c[2:8] == r["住所所在地行政区划代码"] for c, r in zip(codes, rows, strict=True))
    assert len(districts) > 40


def test_every_uscc_field_of_every_file_is_valid(province: Manifest) -> None:
    categories = {c.code: c for c in load_annex().categories}
    checked = 0
    for entry in province.files:
        names = [f.name for f in categories[entry.category].fields if f.type == "uscc"]
        headers, rows = read_file(province, entry)
        for header in headers:
            if header.replace("（", "(").replace("）", ")") in names:
                values = [str(r[header]) for r in rows if r[header]]
                assert all(uscc.is_valid(v) for v in values), (entry.path, header)
                checked += len(values)
    assert checked > province.enterprises


def test_resident_ids_have_valid_check_digits(province: Manifest) -> None:
    """stdnum's ``ric.is_valid`` also looks the address code up in its county table with validity
    years, which refuses genuine old numbers (a 1965 number from 白下区 320103, abolished 2013, or
    from a county renamed since). So the ISO 7064 MOD 11-2 check digit is verified with stdnum's
    ``calc_check_digit``, and the birth date is checked separately."""
    ids = [str(r["法定代表人证件号码"]) for r in _base(province)]
    assert all(len(i) == 18 and ric.calc_check_digit(i) == i[-1] for i in ids)
    births = [ric.get_birth_date(i) for i in ids]
    assert all(1955 <= b.year <= 2000 for b in births)
    persons = {i: b for i, b in zip(ids, births, strict=True)}
    sixties = sum(1960 <= b.year < 1970 for b in persons.values()) / len(persons)
    assert sixties > 0.15
    areas = Counter(i[:6] for i in persons)
    abolished = {code for city in CITIES for code, _, _ in city.abolished}
    assert any(a in abolished for a in areas), "some IDs carry abolished division codes"
    assert sum(a.startswith("32") for a in persons) / len(persons) > 0.7


def test_some_legal_representatives_represent_several_enterprises(province: Manifest) -> None:
    rows = _base(province)
    per_person = Counter(str(r["法定代表人证件号码"]) for r in rows)
    names = {str(r["法定代表人证件号码"]): r["法定代表人姓名"] for r in rows}
    share = sum(n > 1 for n in per_person.values()) / len(per_person)
    assert 0.10 <= share <= 0.20
    # the same person always has the same name
    assert all(names[str(r["法定代表人证件号码"])] == r["法定代表人姓名"] for r in rows)


def test_truth_names_legal_representatives_for_registration(province: Manifest) -> None:
    base = {r["统一社会信用代码"]: r for r in _base(province)}
    accounts = province.truth["accounts"]
    assert len(accounts) == 8 and sum(a["risky"] for a in accounts) == 2
    for account in accounts:
        row = base[account["uscc"]]
        assert row["法定代表人姓名"] == account["legal_representative_name"]
        assert row["法定代表人证件号码"] == account["legal_representative_id"]
        assert row["登记状态"] in ("存续", "在业")
