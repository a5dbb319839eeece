from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.canteen_card.tools.access import FINANCE, allowed_companies, check_caller


class CanteenIntercompanyNettingWizard(models.TransientModel):
    """Net what two companies of a group owe each other for cards spent at each other's
    merchants (the intercompany payables and receivables of the clearing), and settle the net
    amount: one entry in each company that empties both accounts between them, the difference
    paid from one company's bank or cash journal and received in the other's."""

    _name = "canteen.intercompany.netting.wizard"
    _description = "Intercompany Card Netting"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        help="One of the two companies; amounts are shown from its side.",
    )
    other_company_id = fields.Many2one(
        "res.company",
        required=True,
        domain="[('id', '!=', company_id)]",
        help="The other company of the same group.",
    )
    date = fields.Date(required=True, default=fields.Date.context_today, help="Date of both entries.")
    journal_id = fields.Many2one(
        "account.journal",
        string="Payment Journal",
        domain="[('company_id', '=', company_id), ('type', 'in', ('bank', 'cash'))]",
        help="Bank or cash journal of the company that pays or receives the net amount.",
    )
    other_journal_id = fields.Many2one(
        "account.journal",
        string="Other Company's Payment Journal",
        domain="[('company_id', '=', other_company_id), ('type', 'in', ('bank', 'cash'))]",
        help="Bank or cash journal of the other company that receives or pays the net amount.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    payable_amount = fields.Monetary(
        string="Owed to the Other Company",
        compute="_compute_amounts",
        help="The company's intercompany payable to the other company.",
    )
    receivable_amount = fields.Monetary(
        string="Owed by the Other Company",
        compute="_compute_amounts",
        help="The company's intercompany receivable from the other company.",
    )
    net_amount = fields.Monetary(
        string="Net to Pay",
        compute="_compute_amounts",
        help="Positive: the company pays the other this amount; negative: it receives it.",
    )

    @api.depends("company_id", "other_company_id", "date")
    def _compute_amounts(self):
        for wizard in self:
            payable = receivable = 0.0
            companies = wizard.company_id | wizard.other_company_id
            # The amounts are read in SQL: only for Card Finance of both companies.
            allowed = self.env.su or (
                self.env.user.has_group(FINANCE) and not (companies - allowed_companies(self.env))
            )
            if len(companies) == 2 and allowed:
                payable, receivable = wizard._balances(wizard.company_id, wizard.other_company_id)
            wizard.payable_amount, wizard.receivable_amount = payable, receivable
            wizard.net_amount = payable - receivable

    @api.onchange("company_id", "other_company_id")
    def _onchange_companies(self):
        self.journal_id = self._default_journal(self.company_id)
        self.other_journal_id = self._default_journal(self.other_company_id)

    def action_post(self):
        """Post the netting entries in both companies (Card Finance of both companies)."""
        self.ensure_one()
        company, other = self.company_id, self.other_company_id
        check_caller(self.env, FINANCE, company | other)
        return self.sudo()._post_netting()

    # -------------------------------------------------------------------------------------------
    def _default_journal(self, company):
        if not company:
            return self.env["account.journal"]
        Journal = self.env["account.journal"].sudo()
        return Journal.search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1) or (
            company.sudo().canteen_payment_journal_id
        )

    def _balances(self, company, other):
        """(payable to `other`, receivable from `other`) in `company`'s posted books up to the
        wizard's date."""
        self.env.flush_all()
        company = company.sudo()
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(SUM(credit - debit) FILTER (WHERE account_id = %(payable)s), 0),
                       COALESCE(SUM(debit - credit) FILTER (WHERE account_id = %(receivable)s), 0)
                  FROM account_move_line
                 WHERE company_id = %(company)s AND partner_id = %(partner)s
                   AND account_id IN (%(payable)s, %(receivable)s) AND parent_state = 'posted'
                   AND date <= %(date)s
                """,
                payable=company.canteen_ic_payable_account_id.id or 0,
                receivable=company.canteen_ic_receivable_account_id.id or 0,
                company=company.id,
                partner=other.sudo().partner_id.id,
                date=self.date or fields.Date.context_today(self),
            )
        )
        payable, receivable = self.env.cr.fetchone()
        return float(payable), float(receivable)

    def _post_netting(self):
        company, other = self.company_id, self.other_company_id
        if company == other or company.root_id != other.root_id:
            raise UserError(self.env._("Choose two different companies of the same group."))
        # One netting of a pair at a time: a second one waits, then finds the accounts empty.
        low, high = sorted((company.id, other.id))
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", 7303, low * 100000 + high))
        payable, receivable = self._balances(company, other)
        other_payable, other_receivable = self._balances(other, company)
        currency = company.currency_id
        net = currency.round(payable - receivable)
        if currency.compare_amounts(net, other_receivable - other_payable):
            raise UserError(
                self.env._(
                    "The books do not agree: %(company)s owes %(other)s %(net)s by its own books, "
                    "%(other_net)s by the books of %(other)s. Find the entry posted in one company "
                    "only before netting.",
                    company=company.name,
                    other=other.name,
                    net=net,
                    other_net=currency.round(other_receivable - other_payable),
                )
            )
        if currency.is_zero(payable) and currency.is_zero(receivable):
            raise UserError(
                self.env._(
                    "%(company)s and %(other)s owe each other nothing.",
                    company=company.name,
                    other=other.name,
                )
            )
        if not currency.is_zero(net) and not (self.journal_id and self.other_journal_id):
            raise UserError(self.env._("Choose the payment journals of both companies for the net amount."))
        label = self.env._(
            "Intercompany netting %(company)s / %(other)s %(date)s",
            company=company.name,
            other=other.name,
            date=self.date,
        )
        moves = self._post_side(
            company,
            other,
            payable=payable,
            receivable=receivable,
            cash=-net,
            journal=self.journal_id,
            label=label,
        )
        moves |= self._post_side(
            other,
            company,
            payable=other_payable,
            receivable=other_receivable,
            cash=net,
            journal=self.other_journal_id,
            label=label,
        )
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_journal_line")
        action.update(domain=[("id", "in", moves.ids)], context={}, views=[(False, "list"), (False, "form")])
        return action

    def _post_side(self, company, other, *, payable, receivable, cash, journal, label):
        """The entry of `company`: its payable to and receivable from `other` emptied, `cash`
        (positive: received, negative: paid) on the payment journal's account."""
        company = company.sudo()
        payable_account, receivable_account = company._canteen_intercompany_accounts()
        partner = other.sudo().partner_id.id
        lines = []
        if payable:
            lines.append(
                {
                    "account_id": payable_account.id,
                    "partner_id": partner,
                    "debit": max(payable, 0),
                    "credit": max(-payable, 0),
                }
            )
        if receivable:
            lines.append(
                {
                    "account_id": receivable_account.id,
                    "partner_id": partner,
                    "debit": max(-receivable, 0),
                    "credit": max(receivable, 0),
                }
            )
        if not company.currency_id.is_zero(cash):
            lines.append(
                {
                    "account_id": journal.default_account_id.id,
                    "partner_id": partner,
                    "debit": max(cash, 0),
                    "credit": max(-cash, 0),
                }
            )
        move_journal = (
            journal
            if journal and not company.currency_id.is_zero(cash)
            else (company._canteen_wallet_accounting("cash")[0])
        )
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": move_journal.id,
                    "company_id": company.id,
                    "date": self.date,
                    "ref": label,
                    "canteen_locked": True,
                    "line_ids": [Command.create(dict(line, name=label)) for line in lines],
                }
            )
        )
        move.action_post()
        return move
