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
    current = _terms(entry for entry in polib.pofile(buffer.getvalue().decode()) if entry.msgid)
    catalogue = polib.pofile(str(ROOT / "addons" / addon / "i18n" / "zh_CN.po"))
    translated = _terms(entry for entry in catalogue if entry.msgstr and not entry.fuzzy)
    missing = sorted(current - translated)
    assert not missing, (
        f"{len(missing)} terms without zh_CN (run `python3 scripts/devstack.py i18n {addon}`), "
        f"first: {missing[:5]}"
    )


def _terms(entries):
    """(msgid, where) of each term. A field's label, a view's text or a menu's name is
    translated where the catalogue names it (a `model:` or `model_terms:` reference): the same
    word translated for one field leaves another field's label in English. Terms of the code
    are looked up by their text alone."""
    terms = set()
    for entry in entries:
        places = [where for where, _line in entry.occurrences if where.startswith(("model:", "model_terms:"))]
        terms.update((entry.msgid, where) for where in places or ["code"])
    return terms
