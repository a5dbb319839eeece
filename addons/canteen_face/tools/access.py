"""Who may enrol, withdraw and identify faces: checked explicitly before any sudo() write, with
the suite's one caller check (canteen_card/tools/access.py): only `env.su` (crons, installs, the
import command, tests) skips it, never anything a client sends."""

from odoo.addons.canteen_card.tools.access import MANAGER as CARD_MANAGER
from odoo.addons.canteen_card.tools.access import check_caller

FACE_OPERATOR = "canteen_face.group_face_operator"
ENROLERS = (FACE_OPERATOR, CARD_MANAGER)

__all__ = ["CARD_MANAGER", "ENROLERS", "FACE_OPERATOR", "check_caller"]
