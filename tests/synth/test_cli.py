"""``fincredit synth`` on the command line and a changed catalog."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fincredit.catalog.definitions import AnnexDocument, CategoryDef, load_annex
from fincredit.cli import app
from fincredit.collection.validators import compile_fields
from fincredit.synth import Manifest, generate

from .readers import read_file


def test_cli_writes_a_province(tmp_path: Path) -> None:
    out = tmp_path / "p"
    result = CliRunner().invoke(app, ["synth", "--enterprises", "200", "--seed", "3", "--out", str(out),
                                      "--months", "2", "--as-of", "2025-12", "--defects"])
    assert result.exit_code == 0, result.output
    assert "200 家企业" in result.output and "38 个文件" in result.output
    manifest = Manifest.load(out)
    assert (manifest.seed, manifest.enterprises, manifest.months, manifest.as_of) == (3, 200, 2, "2025-12")
    assert manifest.defects and len(manifest.planted_defects) == 3
    _, rows = read_file(manifest, manifest.file("10"))
    assert {r["缴费年月"] for r in rows} == {"2025-11", "2025-12"}


def test_cli_refuses_bad_arguments(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["synth", "--enterprises", "0", "--out", str(tmp_path)]).exit_code != 0
    assert runner.invoke(app, ["synth", "--enterprises", "10"]).exit_code != 0
    bad = runner.invoke(app, ["synth", "--enterprises", "10", "--out", str(tmp_path), "--as-of", "2025-13"])
    assert bad.exit_code != 0


def test_a_catalog_change_is_followed(tmp_path: Path) -> None:
    annex = load_annex()
    data = annex.model_dump(mode="json")
    tax = next(c for c in data["categories"] if c["code"] == "1")
    tax["fields"] = [f for f in tax["fields"] if f["name"] != "连续正常缴税周期(月)"]
    tax["fields"].append({"name": "近一年印花税缴税金额(元)", "type": "amount_yuan"})
    new = CategoryDef.model_validate({
        "code": "38", "name": "排污许可信息", "sharing_method": "bulk", "provider": "eco",
        "disclosure_class": "public", "class_reason": "依法公开", "subject": "enterprise",
        "natural_key": ["统一社会信用代码", "许可证编号"],
        "fields": [{"name": "企业名称", "type": "text", "required": True},
                   {"name": "统一社会信用代码", "type": "uscc", "required": True, "identifies": True},
                   {"name": "许可证编号", "type": "text", "required": True},
                   {"name": "有效期至", "type": "date"}, {"name": "是否重点排污单位", "type": "boolean"}],
    }).model_dump(mode="json")
    data["categories"].append(new)
    changed = AnnexDocument.model_validate(data)
    manifest = generate(tmp_path, 300, seed=1, catalog=changed)
    assert manifest.files[-1].category == "38" and manifest.files[-1].rows > 0
    categories = {c.code: c for c in changed.categories}
    for code in ("1", "38"):
        headers, rows = read_file(manifest, manifest.file(code))
        names = [f.name for f in categories[code].fields]
        assert [h.replace("（", "(").replace("）", ")") for h in headers] == names
        validator = compile_fields(categories[code].fields)
        for row in rows:
            raw = {h.replace("（", "(").replace("）", ")"): v for h, v in row.items()}
            assert validator.validate(raw)[1] == [], (code, row)
