from odoo import api, fields, models

from .canteen_card import LIVE_STATES


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    employee_no = fields.Char(
        string="Employee Number",
        copy=False,
        index=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The cardholder's employee number (工号), unique within a company.",
    )
    card_type_id = fields.Many2one(
        "canteen.card.type", check_company=True, groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    rule_group_id = fields.Many2one(
        "canteen.rule.group",
        check_company=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    cardholder_state = fields.Selection(
        [("active", "Active"), ("resigned", "Resigned")],
        default="active",
        required=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="Resigned cardholders keep their history but cannot pay.",
    )
    card_ids = fields.One2many(
        "canteen.card",
        "employee_id",
        string="Cards",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    current_card_id = fields.Many2one(
        "canteen.card",
        compute="_compute_current_card_id",
        store=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    current_card_state = fields.Selection(related="current_card_id.state", string="Card State")
    wallet_ids = fields.One2many(
        "canteen.wallet",
        "employee_id",
        string="Wallets",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    cash_balance = fields.Monetary(
        compute="_compute_balances", groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    subsidy_balance = fields.Monetary(
        compute="_compute_balances", groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    total_balance = fields.Monetary(
        compute="_compute_balances",
        string="Balance",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )

    _sql_constraints = [
        (
            "canteen_employee_no_company_uniq",
            "unique (company_id, employee_no)",
            "An employee number must be unique within its company.",
        ),
    ]

    @api.constrains("card_type_id", "rule_group_id", "company_id")
    def _check_canteen_company(self):
        # hr.employee does not check companies automatically: card types and rule groups of the
        # cardholder's company or of a parent company only.
        self._check_company(["card_type_id", "rule_group_id"])

    @api.depends("card_ids.state")
    def _compute_current_card_id(self):
        for employee in self:
            employee.current_card_id = employee.card_ids.filtered(lambda c: c.state in LIVE_STATES)[:1]

    @api.depends("wallet_ids.balance")
    def _compute_balances(self):
        for employee in self:
            by_kind = {w.kind: w.balance for w in employee.wallet_ids}
            employee.cash_balance = by_kind.get("cash", 0.0)
            employee.subsidy_balance = by_kind.get("subsidy", 0.0)
            employee.total_balance = employee.cash_balance + employee.subsidy_balance

    def action_issue_card(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Issue a Card"),
            "res_model": "canteen.card.issue.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_employee_id": self.id},
        }

    def action_report_card_loss(self):
        return self.current_card_id.action_report_loss()

    def action_unblock_card(self):
        return self.current_card_id.action_unblock()

    def action_view_wallets(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        action["domain"] = [("employee_id", "in", self.ids)]
        action["context"] = {"search_default_group_wallet_kind": 1}
        return action
