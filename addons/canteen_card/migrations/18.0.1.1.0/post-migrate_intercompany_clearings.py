"""Clearings made before intercompany clearing (08fb030): a branch cardholder's consumption at a
merchant of another company of the group was booked in the cardholders' company only, against
the merchant's account. Each such clearing gets the books a clearing gets today (an entry pair,
see canteen.clearing._migrate_old_intercompany_clearings); running this again changes nothing."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    corrected = env["canteen.clearing"]._migrate_old_intercompany_clearings()
    _logger.info("%s intercompany clearings of before 18.0.1.1.0 corrected in both companies", len(corrected))
