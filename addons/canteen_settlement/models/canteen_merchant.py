import calendar
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.canteen_card.tools.access import FINANCE, check_caller

SETTLEMENT_PERIOD_SELECTION = [("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly")]


class CanteenMerchant(models.Model):
    _inherit = "canteen.merchant"

    settlement_type = fields.Selection(
        [("internal", "Internal"), ("external", "External")],
        string="Settlement",
        required=True,
        default="internal",
        help="Internal: the company's own canteen, clearing is enough. External: an outside "
        "operator (outsourced canteen, supermarket) paid by a vendor bill per settlement period, "
        "less its fee.",
    )
    settlement_period = fields.Selection(
        SETTLEMENT_PERIOD_SELECTION,
        default="monthly",
        help="How often an external merchant is settled: one statement per day, week (Monday to "
        "Sunday) or calendar month.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    fee_percent = fields.Float(
        string="Fee (%)",
        digits=(5, 2),
        help="Percentage of the consumption cleared (charges less corrections) the company keeps.",
    )
    fee_fixed = fields.Monetary(
        string="Fee per Transaction",
        help="Fixed amount the company keeps for each charge (transaction) of the period.",
    )
    settlement_journal_id = fields.Many2one(
        "account.journal",
        string="Bill Journal",
        check_company=True,
        domain="[('type', '=', 'purchase')]",
        help="Purchase journal of the merchant's vendor bills; the company's first purchase "
        "journal when empty.",
    )
    settlement_ids = fields.One2many("canteen.settlement", "merchant_id", string="Settlements", readonly=True)

    @api.constrains("settlement_type", "partner_id", "settlement_period", "fee_percent", "fee_fixed")
    def _check_settlement(self):
        for merchant in self:
            if merchant.settlement_type != "external":
                continue
            if not merchant.partner_id or not merchant.settlement_period:
                raise ValidationError(
                    self.env._(
                        "%(merchant)s is settled externally: give it a partner and a settlement period.",
                        merchant=merchant.name,
                    )
                )
            if not 0 <= merchant.fee_percent <= 100 or merchant.fee_fixed < 0:
                raise ValidationError(
                    self.env._(
                        "%(merchant)s: the fee is a percentage from 0 to 100 and a fixed amount of "
                        "0 or more.",
                        merchant=merchant.name,
                    )
                )

    def action_run_settlement(self):
        """Settle every period of these external merchants that is over (Card Finance)."""
        check_caller(self.env, FINANCE, self.company_id)
        settlements = self.sudo()._settle_due()
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_settlement.canteen_settlement_action")
        action["domain"] = [("id", "in", settlements.ids)]
        return action

    # settlement run ------------------------------------------------------------------------------
    def _period_bounds(self, day):
        """(first day, last day) of this merchant's settlement period that contains `day`."""
        self.ensure_one()
        if self.settlement_period == "daily":
            return day, day
        if self.settlement_period == "weekly":
            start = day - timedelta(days=day.weekday())
            return start, start + timedelta(days=6)
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])

    def _settle_due(self, today=None):
        """Settle every period of these merchants that ended before `today` (default: today in
        the company's time zone) and has unsettled clearings: one statement per period."""
        settlements = self.env["canteen.settlement"]
        for merchant in self.filtered(lambda m: m.settlement_type == "external"):
            day = today or fields.Date.context_today(
                merchant.with_context(tz=merchant.company_id._canteen_timezone())
            )
            # Clear first what is still uncleared up to yesterday, so that the periods hold it:
            # in every company of the group, whose cards may pay here (intercompany clearings).
            root = merchant.company_id.sudo().root_id
            group = self.env["res.company"].sudo().search([("id", "child_of", root.id)])
            self.env["canteen.clearing"].sudo()._run(group, until=day - timedelta(days=1))
            while True:
                pending = merchant._unsettled_clearings()
                if not pending:
                    break
                start = min(pending.mapped("date"))
                last = merchant.settlement_ids.filtered(lambda s: s.state != "cancel")
                if last:
                    start = max(start, max(last.mapped("date_to")) + timedelta(days=1))
                start, end = merchant._period_bounds(start)
                if end >= day:
                    break
                settlements |= self.env["canteen.settlement"]._settle(merchant, start, end)
        return settlements

    def _unsettled_clearings(self, until=None):
        """The clearings of this merchant not settled yet whose merchant's account was credited in
        its own company: those of its company, and the intercompany clearings of cards of other
        companies of the group (booked in both companies, settled here once)."""
        self.ensure_one()
        domain = [
            ("merchant_id", "=", self.id),
            "|",
            ("company_id", "=", self.company_id.id),
            ("merchant_move_id", "!=", False),
            ("settlement_id", "=", False),
        ]
        if until:
            domain.append(("date", "<=", until))
        return self.env["canteen.clearing"].sudo().search(domain, order="date, id")

    def _lock_settlement(self):
        """One settlement run per merchant at a time: a concurrent one waits, then finds nothing."""
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", 7302, self.id))

    @api.model
    def _demo_settlement(self):
        """Demo data: purchases of the first demo cardholders at the supermarket last week, then
        the settlement run (a statement To Confirm)."""
        merchant = self.env.ref("canteen_card.merchant_hq_supermarket", raise_if_not_found=False)
        if not merchant or merchant.settlement_type != "external":
            return
        today = fields.Date.context_today(self)
        monday = today - timedelta(days=today.weekday() + 7)
        employees = self.env["hr.employee"].search(
            [("company_id", "=", merchant.company_id.id), ("current_card_id", "!=", False)],
            limit=3,
            order="id",
        )
        Ledger = self.env["canteen.ledger"]
        for offset, employee in enumerate(employees):
            for amount in ("12.50", "6.80"):
                day = monday + timedelta(days=offset)
                when = fields.Datetime.to_datetime(day) + timedelta(hours=4 + offset)
                if employee.cash_balance + employee.subsidy_balance >= float(amount):
                    Ledger._charge(employee, Ledger._amount(amount), merchant=merchant, date=when)
        merchant._settle_due()

    @api.model
    def _cron_settle(self):
        self.sudo().search([("settlement_type", "=", "external")])._settle_due()
