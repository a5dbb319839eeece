from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

# Starting codes of the accounts created for the wallets; the first free code from here is used.
ACCOUNT_SPECS = {
    "canteen_cash_liability_account_id": (
        "219100",
        "liability_current",
        _lt("Cash Wallets (stored value owed)"),
    ),
    "canteen_subsidy_liability_account_id": (
        "219200",
        "liability_current",
        _lt("Subsidy Wallets (stored value owed)"),
    ),
    "canteen_merchant_account_id": ("219300", "liability_current", _lt("Merchants to Settle")),
    "canteen_subsidy_expense_account_id": ("621900", "expense", _lt("Meal Subsidies")),
    "canteen_card_cost_account_id": ("419100", "income", _lt("Card Costs")),
    "canteen_claim_account_id": ("219400", "liability_current", _lt("Card Balances Awaiting Claim")),
    "canteen_ic_payable_account_id": ("219500", "liability_current", _lt("Intercompany Card Payables")),
    "canteen_ic_receivable_account_id": ("119500", "asset_current", _lt("Intercompany Card Receivables")),
}
CASH_JOURNAL_NAME = _lt("Card Desk Cash")
JOURNAL_SPECS = {
    "canteen_cash_journal_id": ("CWAL", _lt("Cash Wallets")),
    "canteen_subsidy_journal_id": ("SWAL", _lt("Subsidy Wallets")),
}


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_spend_cash_first = fields.Boolean(
        string="Spend Cash Before Subsidy",
        help="By default a charge takes the subsidy wallet first, then cash.",
    )
    canteen_cash_journal_id = fields.Many2one(
        "account.journal", string="Cash Wallet Journal", check_company=True
    )
    canteen_subsidy_journal_id = fields.Many2one(
        "account.journal", string="Subsidy Wallet Journal", check_company=True
    )
    canteen_cash_liability_account_id = fields.Many2one(
        "account.account", string="Cash Wallet Liability Account", check_company=True
    )
    canteen_subsidy_liability_account_id = fields.Many2one(
        "account.account", string="Subsidy Wallet Liability Account", check_company=True
    )
    canteen_subsidy_expense_account_id = fields.Many2one(
        "account.account", string="Subsidy Expense Account", check_company=True
    )
    canteen_merchant_account_id = fields.Many2one(
        "account.account",
        string="Default Merchant Account",
        check_company=True,
        help="Account credited by the clearing run for merchants without an account of their own.",
    )
    canteen_card_cost_account_id = fields.Many2one(
        "account.account",
        string="Card Cost Income Account",
        check_company=True,
        help="Credited with the card cost charged when a card is cancelled or replaced.",
    )
    canteen_claim_account_id = fields.Many2one(
        "account.account",
        string="Balances Awaiting Claim Account",
        check_company=True,
        help="Holds the balance of a replaced card until its holder claims it (卡金补领).",
    )
    canteen_ic_payable_account_id = fields.Many2one(
        "account.account",
        string="Intercompany Payable Account",
        check_company=True,
        help="Credited in the cardholder's company when its cards are spent at a merchant of another "
        "company of the group: what it owes that company (the partner of each journal item).",
    )
    canteen_ic_receivable_account_id = fields.Many2one(
        "account.account",
        string="Intercompany Receivable Account",
        check_company=True,
        help="Debited in the merchant's company for what cards of another company of the group spent "
        "at its merchants: what that company owes it.",
    )
    canteen_cards_at_parent = fields.Boolean(
        string="Cards Accepted at Parent Companies",
        default=True,
        help="This company's cards pay at the merchants of the companies above it (its parent and theirs).",
    )
    canteen_cards_at_siblings = fields.Boolean(
        string="Cards Accepted at Sibling Companies",
        help="This company's cards pay at the merchants of the other companies under the same parent.",
    )
    canteen_cards_at_branches = fields.Boolean(
        string="Cards Accepted at Branches",
        help="This company's cards pay at the merchants of the companies below it.",
    )
    canteen_grey_wait_days = fields.Integer(
        string="Grey-Record Waiting Days",
        default=3,
        help="Days after a card is reported lost before its balance can be claimed on the new card "
        "(灰记录鉴别等待天数), so that late offline records of the lost card come in first. 0: at once.",
    )
    canteen_correction_hours = fields.Integer(
        string="Correction Window (hours)",
        default=24,
        help="How old a charge may be for a card operator to correct it.",
    )
    canteen_correction_manager_hours = fields.Integer(
        string="Manager Correction Window (hours)",
        default=168,
        help="How old a charge may be for a card manager to correct it.",
    )
    canteen_payment_journal_id = fields.Many2one(
        "account.journal",
        string="Default Top-up Journal",
        check_company=True,
        domain="[('type', 'in', ('cash', 'bank'))]",
        help="Cash or bank journal that receives top-ups and pays refunds, unless the operator "
        "picks another.",
    )

    _sql_constraints = [
        (
            "canteen_grey_wait_days_positive",
            "CHECK (canteen_grey_wait_days >= 0)",
            "The grey-record waiting days cannot be negative.",
        ),
        (
            "canteen_correction_hours_positive",
            "CHECK (canteen_correction_hours >= 0 AND canteen_correction_manager_hours >= 0)",
            "Correction windows cannot be negative.",
        ),
    ]

    def _canteen_setup_accounting(self):
        """Create the wallet journals and accounts each company lacks. Accounts belong to the
        root company (branches share their root's chart); journals belong to each company."""
        for company in self.filtered("chart_template"):
            root = company.root_id
            if company != root:
                root._canteen_setup_accounting()
            vals = {}
            for field_name, (code, account_type, name) in ACCOUNT_SPECS.items():
                if not company[field_name]:
                    vals[field_name] = (
                        root[field_name] or root._canteen_create_account(code, account_type, name)
                    ).id
            for field_name, (code, name) in JOURNAL_SPECS.items():
                if not company[field_name]:
                    vals[field_name] = company._canteen_create_journal(code, name).id
            if not company.canteen_payment_journal_id:
                cash_journal = self.env["account.journal"].search(
                    [("company_id", "=", company.id), ("type", "=", "cash")], limit=1
                )
                vals["canteen_payment_journal_id"] = (
                    cash_journal or company._canteen_create_journal("CDSK", CASH_JOURNAL_NAME, "cash")
                ).id
            if vals:
                company.sudo().write(vals)
                company._canteen_translate_names()

    def _canteen_translate_names(self, langs=None):
        """Give the accounts and journals the suite created their names in every installed
        language (or `langs`): they were created in the language of the moment, and a language
        loaded later does not translate records without an external id."""
        langs = langs or [code for code, _name in self.env["res.lang"].get_installed()]
        langs = [lang for lang in langs if lang != "en_US"]
        if not langs:
            return
        specs = [(field, name) for field, (_code, _type, name) in ACCOUNT_SPECS.items()]
        specs += [(field, name) for field, (_code, name) in JOURNAL_SPECS.items()]
        specs.append(("canteen_payment_journal_id", CASH_JOURNAL_NAME))
        for company in self:
            for field_name, name in specs:
                record = company[field_name].sudo()
                # Only names the suite gave: an account renamed by the accountant stays theirs.
                if not record or record.with_context(lang="en_US").name != name._translate("en_US"):
                    continue
                for lang in langs:
                    translated = name._translate(lang)
                    if translated and record.with_context(lang=lang).name != translated:
                        record.with_context(lang=lang).name = translated

    def _canteen_create_account(self, code, account_type, name):
        # Created in English, then named in every installed language (_canteen_translate_names).
        Account = self.env["account.account"].sudo().with_company(self).with_context(lang="en_US")
        return Account.create(
            {
                "name": name._translate("en_US"),
                "code": Account._search_new_account_code(code),
                "account_type": account_type,
                "company_ids": [self.id],
                "reconcile": False,
            }
        )

    def _canteen_create_journal(self, code, name, journal_type="general"):
        Journal = self.env["account.journal"].sudo().with_context(lang="en_US")
        used = set(Journal.search([("company_id", "=", self.id)]).mapped("code"))
        free = next(c for c in [code, *(f"{code[:3]}{n}" for n in range(1, 10))] if c not in used)
        return Journal.create(
            {
                "name": name._translate("en_US"),
                "code": free,
                "type": journal_type,
                "company_id": self.id,
            }
        )

    def _canteen_wallet_accounting(self, wallet_kind):
        """(journal, liability account) of a wallet kind, created on first use."""
        self.ensure_one()
        field_prefix = f"canteen_{wallet_kind}"
        if not (self[f"{field_prefix}_journal_id"] and self[f"{field_prefix}_liability_account_id"]):
            self._canteen_setup_accounting()
        journal, account = self[f"{field_prefix}_journal_id"], self[f"{field_prefix}_liability_account_id"]
        if not (journal and account):
            raise UserError(
                self.env._(
                    "%(company)s has no chart of accounts: install one (Accounting settings) before "
                    "moving money.",
                    company=self.name,
                )
            )
        return journal, account

    def _canteen_accepts_cards_at(self, merchant_company):
        """Whether this company's cards pay at merchants of `merchant_company` (部分园区卡可跨园区使用):
        always at its own, at the companies above, beside or below it as its settings say, never
        in another group. The bridge applies the same rule in SQL (charge_sql.ALLOWED)."""
        self.ensure_one()
        company, merchant_company = self.sudo(), merchant_company.sudo()
        if company == merchant_company:
            return True
        if company.root_id != merchant_company.root_id:
            return False
        if merchant_company in company.parent_ids:
            return company.canteen_cards_at_parent
        if company in merchant_company.parent_ids:
            return company.canteen_cards_at_branches
        if company.parent_id == merchant_company.parent_id:
            return company.canteen_cards_at_siblings
        return False

    def _canteen_intercompany_accounts(self):
        """(payable, receivable) intercompany accounts of the company, created on first use."""
        self.ensure_one()
        if not (self.canteen_ic_payable_account_id and self.canteen_ic_receivable_account_id):
            self._canteen_setup_accounting()
        payable, receivable = self.canteen_ic_payable_account_id, self.canteen_ic_receivable_account_id
        if not (payable and receivable):
            raise UserError(
                self.env._(
                    "%(company)s has no chart of accounts: install one (Accounting settings) before "
                    "moving money.",
                    company=self.name,
                )
            )
        return payable, receivable

    def _canteen_timezone(self):
        """The time zone that decides which day a charge belongs to."""
        return self.resource_calendar_id.tz or self.partner_id.tz or "Asia/Shanghai"
