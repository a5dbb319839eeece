"""Who may enrol, withdraw and identify faces: checked explicitly before any sudo() write.

Any logged-in user can call any public method with any arguments and context; only `env.su`
(which no client can set: crons, installs, the import command, tests) skips the check.
"""

from odoo.exceptions import AccessError

FACE_OPERATOR = "canteen_face.group_face_operator"
CARD_MANAGER = "canteen_card.group_card_manager"
ENROLERS = (FACE_OPERATOR, CARD_MANAGER)


def allowed_companies(env):
    """The companies the user works in now (Odoo checks them against the user's companies) and
    every branch below them."""
    return env["res.company"].sudo().search([("id", "child_of", env.companies.ids)])


def check_caller(env, groups, companies=None):
    """Raise AccessError unless the user is in one of `groups` (xml ids) and every company of
    `companies` is one the user works in or a branch below it."""
    if env.su:
        return
    if not any(env.user.has_group(xmlid) for xmlid in groups):
        names = ", ".join(env.ref(xmlid).sudo().full_name for xmlid in groups)
        raise AccessError(env._("This operation is reserved to: %(groups)s.", groups=names))
    if companies:
        outside = companies.sudo() - allowed_companies(env)
        if outside:
            raise AccessError(
                env._(
                    "%(companies)s: not a company you work in (choose it in the company switcher).",
                    companies=", ".join(outside.mapped("name")),
                )
            )
