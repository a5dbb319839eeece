from odoo import fields, models

LIST_CHANGE_SELECTION = [
    ("blacklist.add", "Add to Blacklist"),
    ("blacklist.remove", "Remove from Blacklist"),
    ("whitelist.add", "Add to Whitelist"),
    ("whitelist.remove", "Remove from Whitelist"),
]
LIST_REASON_SELECTION = [
    ("issue", "Issue"),
    ("loss", "Loss"),
    ("unblock", "Unblock"),
    ("replace", "Replace"),
    ("cancel", "Cancel"),
    ("resign", "Resign"),
    ("expire", "Expire"),
]


class CanteenCardListChange(models.Model):
    """A black or white list change that terminals must learn (名单下发), one per card and
    state change that matters to them. Written only by canteen.card (its create and _set_state,
    as superuser: users may only read), in one create per batch; the bridge inherits create() to
    deliver the changes. Its time is create_date."""

    _name = "canteen.card.list.change"
    _inherit = ["canteen.protected.mixin"]
    _description = "Card List Change"
    _order = "id desc"
    _rec_name = "uid"

    card_id = fields.Many2one("canteen.card", required=True, readonly=True, index=True, ondelete="restrict")
    uid = fields.Char(string="Card UID", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    change = fields.Selection(LIST_CHANGE_SELECTION, required=True, readonly=True)
    reason = fields.Selection(LIST_REASON_SELECTION, required=True, readonly=True)
