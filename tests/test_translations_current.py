"""zh_CN.po must cover the terms the installed addons have now, not only the ones it lists:
the terms are exported from the test database and compared with each addon's catalogue."""

import io
from pathlib import Path

import polib
import pytest
from conftest import environment

ROOT = Path(__file__).resolve().parent.parent
ADDONS = sorted(p.parent.name for p in ROOT.glob("addons/*/__manifest__.py"))


@pytest.mark.parametrize("addon", ADDONS)
def test_every_current_term_is_translated(odoo_registry, addon):
    from odoo.tools.translate import trans_export

    buffer = io.BytesIO()
    with environment(odoo_registry) as env:
        trans_export(False, [addon], buffer, "po", env.cr)
    current = {entry.msgid for entry in polib.pofile(buffer.getvalue().decode()) if entry.msgid}
    catalogue = polib.pofile(str(ROOT / "addons" / addon / "i18n" / "zh_CN.po"))
    translated = {entry.msgid for entry in catalogue if entry.msgstr and not entry.fuzzy}
    missing = sorted(current - translated)
    assert not missing, f"{len(missing)} terms without zh_CN (run `make i18n`), first: {missing[:5]}"
