"""Every addon carries what an Odoo 18 addon of this suite must carry."""

import ast
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDONS = sorted(p.parent for p in ROOT.glob("addons/*/__manifest__.py"))
EXPECTED = {
    "canteen_card",
    "canteen_pos_bridge",
    "canteen_face",
    "canteen_meal_booking",
    "canteen_dingtalk",
    "canteen_report",
    "canteen_settlement",
    "canteen_approval",
    "canteen_attendance",
}


def manifest(addon):
    return ast.literal_eval((addon / "__manifest__.py").read_text())


def test_all_addons_present():
    assert {a.name for a in ADDONS} == EXPECTED


@pytest.mark.parametrize("addon", ADDONS, ids=lambda a: a.name)
def test_manifest(addon):
    data = manifest(addon)
    assert data["license"] == "LGPL-3"
    version = data["version"].split(".")
    assert version[:2] == ["18", "0"] and len(version) == 5 and all(v.isdigit() for v in version)
    if addon.name != "canteen_card":
        assert "canteen_card" in data["depends"]
    for path in data.get("data", []) + data.get("demo", []):
        assert (addon / path).is_file(), f"{addon.name} manifest names missing {path}"


@pytest.mark.parametrize("addon", ADDONS, ids=lambda a: a.name)
def test_layout(addon):
    assert (addon / "static/description/icon.png").is_file()
    assert (addon / "readme/DESCRIPTION.md").is_file()
    assert list((addon / "tests").glob("test_*.py")), "at least one test"
    assert list((addon / "security").glob("*groups.xml")), "its security groups"


@pytest.mark.parametrize("addon", ADDONS, ids=lambda a: a.name)
def test_zh_cn_translation_complete(addon):
    po_path = addon / "i18n/zh_CN.po"
    assert po_path.is_file()
    po = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated, first: {untranslated[:5]}"
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert not fuzzy, f"fuzzy entries: {fuzzy[:5]}"
