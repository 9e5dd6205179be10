import copy
import re

from sqlalchemy import func, select

from fincredit.catalog.definitions import load_annex, normalize_name
from fincredit.catalog.models import CatalogVersion
from tests.helpers import auth, error_code


def test_catalog_lists_38_categories_with_typed_fields(client):
    r = client.get("/api/v1/catalog")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1
    codes = [c["code"] for c in body["categories"]]
    assert codes == ["base"] + [str(i) for i in range(1, 38)]
    for cat in body["categories"]:
        assert cat["fields"], cat["code"]
        assert cat["sharing_method"] in {"bulk", "interface_authorized", "interface_open", "verification"}
        assert cat["disclosure_class"] in {"public", "non_public", "verification"}
        assert cat["class_reason"]
        assert cat["provider"] in body["providers"]
        for f in cat["fields"]:
            assert f["type"] and f["type_label"]


def test_every_annex_field_is_in_the_catalog():
    """Each 共享内容 item of the annex appears as a field (or an alias), except recorded corrections."""
    import pathlib

    seed = pathlib.Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_ce73ad37bfa520cd.txt"
    text = seed.read_text(encoding="utf-8")
    annex = load_annex()
    by_code = {c.code: c for c in annex.categories}
    rows = re.findall(r"^(\d{1,2})\t([^\t]+)\t([^\t]+)\t", text, flags=re.M)
    assert len(rows) == 37
    for code, _name, content in rows:
        cat = by_code[code]
        known = set()
        for f in cat.fields:
            known.add(normalize_name(f.name))
            known.update(normalize_name(a) for a in f.aliases)
        # Split on the enumeration comma, but not inside brackets.
        items, depth, cur = [], 0, ""
        for ch in content.replace(" ", ""):
            if ch in "(（":
                depth += 1
            elif ch in ")）":
                depth -= 1
            if ch == "、" and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        items.append(cur)
        for item in items:
            name = normalize_name(item)
            if code in {"31", "32"} and "用户信息" in name:
                continue  # split into 户名 / 户号 (recorded correction)
            assert name in known, f"category {code}: annex field {item!r} missing"


def test_category_10_mixes_methods_and_records_corrections():
    cat = {c.code: c for c in load_annex().categories}["10"]
    assert cat.sharing_method == "bulk"
    assert sorted(cat.verification_fields) == sorted(
        ["职工工资总额", "单位缴费基数", "本月应缴金额合计(元)", "本月实缴金额合计(元)"])
    assert len(cat.corrections) == 2
    gas = {c.code: c for c in load_annex().categories}["32"]
    assert gas.field("用气量").aliases == ["用水量"]


def test_adjusting_a_category_creates_a_new_version_and_keeps_the_old(client, admin_token):
    old = client.get("/api/v1/catalog/categories/2").json()
    definition = {k: v for k, v in old.items() if k not in {"version", "sharing_method_label",
                                                             "disclosure_class_label"}}
    definition = copy.deepcopy(definition)
    for f in definition["fields"]:
        f.pop("type_label")
        if f.get("sharing_method") == definition["sharing_method"]:
            f.pop("sharing_method")
    definition["fields"].append({"name": "欠税发生日期", "type": "date"})
    r = client.put("/api/v1/catalog/categories/2", json={"definition": definition, "note": "增加欠税发生日期"},
                   headers=auth(admin_token))
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2
    new = client.get("/api/v1/catalog/categories/2").json()
    assert new["version"] == 2 and new["fields"][-1]["name"] == "欠税发生日期"
    v1 = client.get("/api/v1/catalog/categories/2?version=1").json()
    assert v1["version"] == 1 and "欠税发生日期" not in [f["name"] for f in v1["fields"]]
    versions = client.get("/api/v1/catalog/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["source"] == "operator"


def test_adding_a_node_category(client, admin_token):
    definition = {
        "code": "node_evasion", "name": "恶意逃废债失信信息", "sharing_method": "bulk", "provider": "node",
        "disclosure_class": "public", "class_reason": "经裁判认定的恶意逃废债行为依法公示", "subject": "enterprise",
        "natural_key": ["统一社会信用代码", "认定文号"], "node_own": True,
        "fields": [{"name": "企业名称", "type": "text", "required": True},
                   {"name": "统一社会信用代码", "type": "uscc", "required": True, "identifies": True},
                   {"name": "认定文号", "type": "text", "required": True}],
    }
    r = client.post("/api/v1/catalog/categories", json={"definition": definition, "provider_name": "省级节点"},
                    headers=auth(admin_token))
    assert r.status_code == 201, r.text
    cat = client.get("/api/v1/catalog").json()
    assert len(cat["categories"]) == 39 and cat["providers"]["node"] == "省级节点"
    again = client.post("/api/v1/catalog/categories", json={"definition": definition},
                        headers=auth(admin_token))
    assert again.status_code == 409 and error_code(again) == "category_exists"


def test_malformed_catalog_edits_are_refused_and_store_nothing(client, admin_token, session):
    base = client.get("/api/v1/catalog/categories/3").json()
    good = {k: base[k] for k in ("code", "name", "sharing_method", "provider", "disclosure_class",
                                 "class_reason", "subject", "natural_key")}
    good["fields"] = [{k: v for k, v in f.items() if k in {"name", "type", "required", "identifies"}}
                      for f in base["fields"]]
    bad_cases = [
        {**good, "fields": good["fields"] + [{"name": "x", "type": "no_such_type"}]},
        {**good, "natural_key": ["不存在的字段"]},
        {**good, "fields": good["fields"] + [{"name": good["fields"][0]["name"], "type": "text"}]},
        {**good, "fields": good["fields"] + [{"name": "等级", "type": "enum"}]},
        {**good, "disclosure_class": "secret"},
        {**good, "provider": "nobody"},
        {**good, "fields": [{"name": "企业名称", "type": "text"}], "natural_key": ["企业名称"]},
        {**good, "surprise": 1},
    ]
    for bad in bad_cases:
        r = client.put("/api/v1/catalog/categories/3", json={"definition": bad}, headers=auth(admin_token))
        assert r.status_code == 422, (bad, r.text)
        assert error_code(r) in {"bad_category_definition", "unknown_provider"}
        assert re.search(r"[\u4e00-\u9fff]", r.json()["error"]["message"])
    mismatch = client.put("/api/v1/catalog/categories/4", json={"definition": good}, headers=auth(admin_token))
    assert mismatch.status_code == 400 and error_code(mismatch) == "code_mismatch"
    assert session.scalar(select(func.count()).select_from(CatalogVersion)) == 1


def test_unknown_category_and_version_are_404(client):
    r = client.get("/api/v1/catalog/categories/99")
    assert r.status_code == 404 and error_code(r) == "unknown_category"
    r = client.get("/api/v1/catalog?version=42")
    assert r.status_code == 404 and error_code(r) == "unknown_catalog_version"


def test_init_is_idempotent(db):
    from fincredit.bootstrap import initialize

    assert "up to date" in initialize()["catalog"]


def test_a_new_catalog_version_is_seen_at_once(client, admin_token, session):
    """The current version is read once per transaction: the next transaction (the next request) sees a
    version an operator just created, and a transaction sees the version it wrote itself."""
    from fincredit.catalog.service import adjust_category, get_catalog

    assert get_catalog(session).version == 1
    session.rollback()  # a request ends with its transaction
    definition = copy.deepcopy(get_catalog(session).categories["2"].model_dump(mode="json", exclude_none=True))
    session.rollback()
    definition["fields"].append({"name": "欠税发生日期", "type": "date"})
    r = client.put("/api/v1/catalog/categories/2", json={"definition": definition, "note": "增加欠税发生日期"},
                   headers=auth(admin_token))
    assert r.status_code == 201, r.text
    assert get_catalog(session).version == 2
    assert "欠税发生日期" in [f.name for f in get_catalog(session).categories["2"].fields]
    definition["fields"].append({"name": "欠税所属期", "type": "text"})
    adjust_category(session, definition, actor="测试", note="再增加一个字段")
    assert get_catalog(session).version == 3
    session.rollback()
    assert get_catalog(session).version == 2
