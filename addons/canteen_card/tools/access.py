"""Who may do what: the one check every method that changes money, state or audit runs first.

Any logged-in user can call any public model method over JSON-RPC, with any arguments and any
context. So records of money, state and audit are read-only through the ORM (their access
lines grant no write, create or unlink, and `canteen.protected.mixin` refuses them to anyone
but the superuser), and the methods that change them check the caller here, explicitly, and
then write with `sudo()`. Nothing a client sends (a context key, a field value, an argument)
decides whether the check runs: only `env.su`, which no client can set, skips it, because
code running as superuser has already been checked (or is a cron, an install, a test).
"""

from odoo.exceptions import AccessError

OPERATOR = "canteen_card.group_card_operator"
MANAGER = "canteen_card.group_card_manager"
FINANCE = "canteen_card.group_card_finance"
AUDITOR = "canteen_card.group_card_auditor"


def allowed_companies(env):
    """The companies the user works in now (checked by Odoo against the user's companies) and
    every branch below them."""
    return env["res.company"].sudo().search([("id", "child_of", env.companies.ids)])


def check_caller(env, group, companies=None):
    """Raise AccessError unless the user is in `group` (an xml id, or several: any of them)
    and every company of `companies` is one the user works in or a branch below it."""
    if env.su:
        return
    groups = (group,) if isinstance(group, str) else tuple(group)
    if not any(env.user.has_group(xmlid) for xmlid in groups):
        names = ", ".join(env.ref(xmlid).sudo().full_name for xmlid in groups)
        raise AccessError(env._("This operation is reserved to: %(groups)s.", groups=names))
    check_companies(env, companies)


def check_companies(env, companies):
    """Raise AccessError when a company of `companies` is outside the user's companies and their
    branches (a record of another company tree named by id, say)."""
    if env.su or not companies:
        return
    outside = companies.sudo() - allowed_companies(env)
    if outside:
        raise AccessError(
            env._(
                "%(companies)s: not a company you work in (choose it in the company switcher).",
                companies=", ".join(outside.mapped("name")),
            )
        )
