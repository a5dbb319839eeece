from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

LOG_ACTION_SELECTION = [
    ("issue", "Issue Card"),
    ("loss", "Report Loss"),
    ("unblock", "Unblock"),
    ("replace", "Replace Card"),
    ("claim", "Claim Old Card Balance"),
    ("scrap", "Scrap Card"),
    ("cancel", "Cancel Card"),
    ("resign", "Resign"),
    ("rehire", "Re-hire"),
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("subsidy_grant", "Subsidy Grant"),
    ("subsidy_expiry", "Subsidy Expiry"),
    ("correction", "Correction"),
    ("manual_entry", "Manual Entry"),
    ("import_department", "Import Departments"),
    ("import_person", "Import People"),
]


class CanteenOperationLog(models.Model):
    """Who did what at the card desk, when, to whom, with the balances before and after.

    Written by the operations themselves (sudo), never by hand; nobody may change or delete it.
    """

    _name = "canteen.operation.log"
    _inherit = ["canteen.protected.mixin"]
    _description = "Card Desk Operation Log"
    _order = "date desc, id desc"
    _rec_name = "action"

    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one(
        "res.users", string="Operator", required=True, readonly=True, default=lambda self: self.env.user
    )
    action = fields.Selection(LOG_ACTION_SELECTION, required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    employee_id = fields.Many2one("hr.employee", string="Cardholder", readonly=True, index="btree_not_null")
    card_id = fields.Many2one("canteen.card", readonly=True, index="btree_not_null")
    operation_id = fields.Many2one("canteen.operation", readonly=True, index="btree_not_null")
    cash_before = fields.Monetary(readonly=True)
    cash_after = fields.Monetary(readonly=True)
    subsidy_before = fields.Monetary(readonly=True)
    subsidy_after = fields.Monetary(readonly=True)
    note = fields.Char(readonly=True)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The operation log cannot be changed."))

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("The operation log cannot be deleted."))

    @api.model
    def _balances(self, employees):
        """{employee id: (cash, subsidy)} as the database holds them now."""
        if not employees:
            return {}
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT employee_id, kind, balance FROM canteen_wallet WHERE employee_id = ANY(%s)",
                list(employees.ids),
            )
        )
        balances = {employee_id: [0.0, 0.0] for employee_id in employees.ids}
        for employee_id, kind, balance in self.env.cr.fetchall():
            balances[employee_id][0 if kind == "cash" else 1] = balance
        return balances

    @api.model
    def _record(self, action, employees, before=None, *, cards=None, operations=None, note=None, after=None):
        """One log line per cardholder. `before` and `after` come from _balances; `after` is read
        now when not given, `before` is `after` for operations that move no money."""
        after = after if after is not None else self._balances(employees)
        before = before if before is not None else after
        card_of = {card.employee_id.id: card.id for card in (cards or self.env["canteen.card"])}
        operation_of = {op.company_id.id: op.id for op in (operations or self.env["canteen.operation"])}
        vals_list = []
        for employee in employees:
            cash_before, subsidy_before = before.get(employee.id, (0.0, 0.0))
            cash_after, subsidy_after = after.get(employee.id, (0.0, 0.0))
            vals_list.append(
                {
                    "action": action,
                    "user_id": self.env.uid,
                    "company_id": employee.company_id.id,
                    "employee_id": employee.id,
                    "card_id": card_of.get(employee.id),
                    "operation_id": operation_of.get(employee.company_id.id),
                    "cash_before": cash_before,
                    "cash_after": cash_after,
                    "subsidy_before": subsidy_before,
                    "subsidy_after": subsidy_after,
                    "note": note,
                }
            )
        return self.sudo().create(vals_list)
