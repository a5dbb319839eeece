from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.canteen_card.tools.access import FINANCE, check_caller


class CanteenSettlement(models.Model):
    """The statement of one external merchant for one settlement period (清算单): the clearings it
    settles (each once), the charges and corrections per day and meal, the fee and the net amount
    payable by the vendor bill it posts when confirmed."""

    _name = "canteen.settlement"
    _inherit = ["canteen.protected.mixin"]
    _description = "Merchant Settlement Statement"
    _order = "date_to desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", readonly=True, copy=False, help="Statement number.")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    merchant_id = fields.Many2one(
        "canteen.merchant", required=True, readonly=True, index=True, check_company=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Vendor", readonly=True, help="The merchant's partner, paid by the bill."
    )
    date_from = fields.Date(string="From", required=True, readonly=True, help="First day of the period.")
    date_to = fields.Date(string="To", required=True, readonly=True, help="Last day of the period.")
    state = fields.Selection(
        [("draft", "To Confirm"), ("confirmed", "Confirmed"), ("cancel", "Cancelled")],
        required=True,
        default="draft",
        readonly=True,
        help="To Confirm: the clearings are reserved for this statement, nothing is booked yet. "
        "Confirmed: the vendor bill is posted. Cancelled: the clearings are free for the next run.",
    )
    clearing_ids = fields.One2many("canteen.clearing", "settlement_id", string="Clearings", readonly=True)
    line_ids = fields.One2many(
        "canteen.settlement.line", "settlement_id", string="Days and Meals", readonly=True
    )
    charge_count = fields.Integer(string="Charges", readonly=True, help="Number of charges settled.")
    charge_amount = fields.Monetary(string="Charged", readonly=True, help="Total of the charges.")
    correction_count = fields.Integer(string="Corrections", readonly=True, help="Number of corrections.")
    correction_amount = fields.Monetary(
        string="Corrected", readonly=True, help="Total given back to wallets by corrections."
    )
    amount = fields.Monetary(
        string="Cleared", readonly=True, help="Consumption cleared: charges less corrections."
    )
    fee_percent = fields.Float(
        string="Fee (%)", digits=(5, 2), readonly=True, help="The merchant's fee rate at the run."
    )
    fee_fixed = fields.Monetary(
        string="Fee per Transaction", readonly=True, help="The merchant's fixed fee at the run."
    )
    fee_amount = fields.Monetary(string="Fee", readonly=True, help="Kept by the company.")
    net_amount = fields.Monetary(string="Net Payable", readonly=True, help="Cleared less the fee.")
    move_id = fields.Many2one(
        "account.move", string="Vendor Bill", readonly=True, copy=False, check_company=True
    )
    confirm_uid = fields.Many2one("res.users", string="Confirmed by", readonly=True)
    confirm_date = fields.Datetime(string="Confirmed on", readonly=True)
    late_clearing_count = fields.Integer(
        string="Late Clearings",
        readonly=True,
        help="Clearings of days before the period (late offline records) settled by this statement.",
    )
    prepared_by_id = fields.Many2one(
        "res.users",
        compute="_compute_prepared_by_id",
        string="Prepared by",
        help="Who made the statement (Settle Ended Periods); empty when the daily job made it: the "
        "person who prepares it signs the printed statement.",
    )

    @api.depends("create_uid")
    def _compute_prepared_by_id(self):
        system = self.env.ref("base.user_root")
        for settlement in self:
            creator = settlement.sudo().create_uid
            settlement.prepared_by_id = creator if creator != system else False

    # actions ----------------------------------------------------------------------------------------
    def action_confirm(self):
        """Post the vendor bill of these statements (Card Finance)."""
        check_caller(self.env, FINANCE, self.company_id)
        for settlement in self.sudo():
            # Lock the row: two confirmations at once wait for each other, the second sees "confirmed".
            self.env.cr.execute(
                SQL("SELECT state FROM canteen_settlement WHERE id = %s FOR UPDATE", settlement.id)
            )
            settlement.invalidate_recordset(["state"])
            if settlement.state != "draft":
                raise UserError(
                    self.env._("%(statement)s is not waiting for confirmation.", statement=settlement.name)
                )
            settlement.write(
                {
                    "move_id": settlement._book_bill().id,
                    "state": "confirmed",
                    "confirm_uid": self.env.uid,
                    "confirm_date": fields.Datetime.now(),
                }
            )
        return True

    def action_cancel(self):
        """Cancel statements not confirmed yet: their clearings go back to the next run."""
        check_caller(self.env, FINANCE, self.company_id)
        for settlement in self.sudo():
            self.env.cr.execute(
                SQL("SELECT state FROM canteen_settlement WHERE id = %s FOR UPDATE", settlement.id)
            )
            settlement.invalidate_recordset(["state"])
            if settlement.state != "draft":
                raise UserError(
                    self.env._(
                        "%(statement)s is confirmed: its bill is posted; correct it with a credit note.",
                        statement=settlement.name,
                    )
                )
            self.env.cr.execute(
                SQL(
                    "UPDATE canteen_clearing SET settlement_id = NULL WHERE settlement_id = %s", settlement.id
                )
            )
            self.env["canteen.clearing"].invalidate_model(["settlement_id"])
            settlement.state = "cancel"
        return True

    def action_view_bill(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "view_mode": "form",
            "res_id": self.move_id.id,
        }

    # settlement run ---------------------------------------------------------------------------------
    @api.model
    def _settle(self, merchant, date_from, date_to):
        """The statement of `merchant` for the period: every clearing of the merchant booked in its
        company up to `date_to` and not settled yet (late clearings of earlier days included).
        Returns an empty recordset when there is nothing to settle."""
        if merchant.settlement_type != "external":
            return self.browse()
        merchant._lock_settlement()
        self.env.flush_all()
        clearings = merchant._unsettled_clearings(until=date_to)
        if not clearings:
            return self.browse()
        settlement = self.sudo().create(
            {
                "name": self.env["ir.sequence"].sudo().next_by_code("canteen.settlement"),
                "company_id": merchant.company_id.id,
                "merchant_id": merchant.id,
                "partner_id": merchant.partner_id.id,
                "date_from": date_from,
                "date_to": date_to,
                "fee_percent": merchant.fee_percent,
                "fee_fixed": merchant.fee_fixed,
            }
        )
        self.env.flush_all()
        # Each clearing is settled once: only one still without a statement is taken.
        self.env.cr.execute(
            SQL(
                "UPDATE canteen_clearing SET settlement_id = %s "
                "WHERE id = ANY(%s) AND settlement_id IS NULL RETURNING id",
                settlement.id,
                clearings.ids,
            )
        )
        clearings = clearings.browse([row[0] for row in self.env.cr.fetchall()])
        self.env["canteen.clearing"].invalidate_model(["settlement_id"])
        settlement._fill(clearings)
        return settlement

    def _fill(self, clearings):
        """Lines per day and meal from the ledger entries of the clearings, totals and fee."""
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(e.business_date, c.date) AS day, e.meal_kind,
                       COALESCE(SUM(e.charge_count) FILTER (WHERE e.kind = 'charge'), 0),
                       COALESCE(-SUM(e.amount) FILTER (WHERE e.kind = 'charge'), 0),
                       COUNT(*) FILTER (WHERE e.kind = 'correction'),
                       COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'correction'), 0)
                  FROM canteen_ledger_entry e
                  JOIN canteen_clearing c ON c.id = e.clearing_id
                 WHERE c.settlement_id = %s
                 GROUP BY 1, 2
                 ORDER BY 1, 2 NULLS LAST
                """,
                self.id,
            )
        )
        lines = [
            {
                "settlement_id": self.id,
                "date": day,
                "meal_kind": meal,
                "charge_count": count,
                "charge_amount": charged,
                "correction_count": corrections,
                "correction_amount": corrected,
                "amount": charged - corrected,
            }
            for day, meal, count, charged, corrections, corrected in self.env.cr.fetchall()
        ]
        self.env["canteen.settlement.line"].sudo().create(lines)
        currency = self.currency_id
        amount = sum(clearings.mapped("amount"))
        charge_count = sum(line["charge_count"] for line in lines)
        fee = currency.round(amount * self.fee_percent / 100 + self.fee_fixed * charge_count)
        self.sudo().write(
            {
                "charge_count": charge_count,
                "charge_amount": sum(line["charge_amount"] for line in lines),
                "correction_count": sum(line["correction_count"] for line in lines),
                "correction_amount": sum(line["correction_amount"] for line in lines),
                "amount": amount,
                "fee_amount": fee,
                "net_amount": currency.round(amount - fee),
                "late_clearing_count": len(clearings.filtered(lambda c: c.date < self.date_from)),
            }
        )

    def _book_bill(self):
        """The vendor bill to the merchant's partner for the net amount: the cleared consumption
        debits the merchant's account, the fee is credited to the fee income account. A negative
        net (corrections above charges) is a vendor credit note."""
        self.ensure_one()
        currency = self.currency_id
        if currency.is_zero(self.amount) and currency.is_zero(self.fee_amount):
            return self.env["account.move"]
        company = self.company_id
        merchant = self.merchant_id
        journal = merchant.settlement_journal_id or company._canteen_settlement_journal()
        if not journal:
            raise UserError(
                self.env._(
                    "%(company)s has no purchase journal for the merchant bills.", company=company.name
                )
            )
        sign = 1 if currency.compare_amounts(self.net_amount, 0) >= 0 else -1
        period = self.env._("%(date_from)s to %(date_to)s", date_from=self.date_from, date_to=self.date_to)
        lines = [
            {
                "name": self.env._(
                    "Card consumption at %(merchant)s, %(period)s", merchant=merchant.name, period=period
                ),
                "account_id": (merchant.account_id or company.canteen_merchant_account_id).id,
                "quantity": 1,
                "price_unit": sign * float(self.amount),
            }
        ]
        if not currency.is_zero(self.fee_amount):
            lines.append(
                {
                    "name": self.env._("Settlement fee %(period)s", period=period),
                    "account_id": company._canteen_settlement_fee_account().id,
                    "quantity": 1,
                    "price_unit": -sign * float(self.fee_amount),
                }
            )
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "in_invoice" if sign > 0 else "in_refund",
                    "journal_id": journal.id,
                    "company_id": company.id,
                    "partner_id": self.partner_id.id,
                    "invoice_date": self.date_to,
                    "date": self.date_to,
                    "ref": self.name,
                    "invoice_origin": self.name,
                    "canteen_locked": True,
                    "invoice_line_ids": [
                        Command.create(dict(line, tax_ids=[Command.clear()])) for line in lines
                    ],
                }
            )
        )
        move.action_post()
        return move
