from . import models
from . import wizard


def post_init_hook(env):
    """Companies that already have a chart of accounts get their wallet journals and accounts."""
    env["res.company"].search([])._canteen_setup_accounting()
