from datetime import timedelta
from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError

from ..tools import ledger_core
from ..tools.ledger_core import LedgerError


class CanteenLedger(models.AbstractModel):
    """The ledger service of the ORM: every wizard, cron and backend charge goes through it.

    It hands the work to tools/ledger_core.py on the ORM's cursor (the bridge uses the same
    core on its own connections), turns refusals into translated errors and keeps the ORM
    caches in step with the rows the core wrote.
    """

    _name = "canteen.ledger"
    _description = "Ledger Service"

    def _amount(self, value, allow_zero=False):
        """`value` (a float of a Monetary field, a text, a Decimal) as a Decimal amount; a clear
        UserError for anything that is not a finite amount with at most 2 decimals in range."""
        try:
            return ledger_core.to_amount(value, allow_zero=allow_zero)
        except LedgerError as error:
            raise UserError(self._error_message(error, self.env["hr.employee"])) from error

    def _ensure_wallets(self, employees):
        if employees:
            self.env.flush_all()
            ledger_core.ensure_wallets(self.env.cr, employees.ids, self.env.uid)
            employees.invalidate_recordset(["wallet_ids"])

    def _charge(
        self,
        employee,
        amount,
        *,
        merchant,
        card=None,
        date=None,
        transaction_ref=None,
        allow_overdraft=False,
        values=None,
    ):
        """Charge a cardholder for consumption at a merchant; returns the entries."""
        if not employee.company_id._canteen_accepts_cards_at(merchant.company_id):
            # The liability is the cardholder's company's; another company's merchant is cleared
            # through intercompany accounts, where the company's settings accept its cards.
            raise UserError(
                self.env._(
                    "%(person)s cannot pay at %(merchant)s, a merchant of another company.",
                    person=employee.name,
                    merchant=merchant.name,
                )
            )
        card = card or employee.current_card_id
        if not card:
            raise UserError(self.env._("%(person)s has no card.", person=employee.name))
        date = date or fields.Datetime.now()
        values = dict(values or {}, merchant_id=merchant.id, transaction_ref=transaction_ref, date=date)
        return self._call(
            ledger_core.charge,
            employee,
            amount,
            card_id=card.id,
            on_date=date.date(),
            allow_overdraft=allow_overdraft,
            values=values,
        )

    def _credit(
        self,
        employee,
        wallet_kind,
        amount,
        entry_kind,
        *,
        operation=None,
        note=None,
        values=None,
        require_card=False,
        enforce_max=True,
    ):
        """Add money to a wallet; with require_card, the person's card must be active."""
        return self._call(
            ledger_core.credit,
            employee,
            wallet_kind,
            amount,
            entry_kind,
            values=dict(values or {}, operation_id=operation and operation.id, note=note),
            enforce_max=enforce_max,
            **self._card_check(employee, require_card),
        )

    def _debit(
        self,
        employee,
        wallet_kind,
        amount,
        entry_kind,
        *,
        operation=None,
        note=None,
        values=None,
        require_card=False,
        floor=ledger_core.ZERO,
    ):
        """Take money from a wallet, never below `floor`; with require_card, the card must be active."""
        return self._call(
            ledger_core.debit,
            employee,
            wallet_kind,
            amount,
            entry_kind,
            values=dict(values or {}, operation_id=operation and operation.id, note=note),
            floor=floor,
            **self._card_check(employee, require_card),
        )

    def _correct(self, entry, new_amount, note=None, *, requested_at=None):
        """Correct a charge (更正) within the window: a new "correction" entry of the same wallet and
        merchant, linked to the charge, giving back the difference between what was charged (less
        earlier corrections) and `new_amount` (0 reverses it). A correction only lowers a charge;
        more money is a new manual entry. The charge itself is never changed.

        The window is judged at `requested_at` (default now): canteen_approval passes the time the
        correction was asked for, so that a request made in time is posted when approved later."""
        entry.ensure_one()
        new_amount = Decimal(str(new_amount))
        charged = -Decimal(str(entry.amount)) - sum(
            (Decimal(str(c.amount)) for c in entry.correction_ids), Decimal("0.00")
        )
        self._check_correctable(entry, new_amount, charged, requested_at=requested_at)
        values = {
            "merchant_id": entry.merchant_id.id,
            "related_entry_id": entry.id,
            "card_id": entry.card_id.id or None,
            "transaction_ref": entry.transaction_ref or None,
        }
        # Only ever a refund of (part of) the charge: _check_correctable refuses more.
        return self._credit(
            entry.employee_id,
            entry.wallet_kind,
            charged - new_amount,
            "correction",
            note=note,
            values=values,
            enforce_max=False,
        )

    def _check_correctable(self, entry, new_amount, charged, *, requested_at=None):
        if entry.kind != "charge" or not entry.merchant_id:
            raise UserError(self.env._("Only a charge at a merchant can be corrected."))
        if entry.employee_id.cardholder_state != "active":
            raise UserError(self.env._("%(person)s has resigned.", person=entry.employee_id.name))
        company = entry.company_id
        manager = self.env.user.has_group("canteen_card.group_card_manager")
        hours = company.canteen_correction_manager_hours if manager else company.canteen_correction_hours
        if entry.date < (requested_at or fields.Datetime.now()) - timedelta(hours=hours):
            raise UserError(
                self.env._(
                    "This charge is older than %(hours)s hours: it can no longer be corrected by you.",
                    hours=hours,
                )
            )
        if new_amount < 0 or new_amount != new_amount.quantize(Decimal("0.01")):
            raise UserError(
                self.env._(
                    "%(amount)s is not a valid amount: use 0 or a positive amount with at most 2 decimals.",
                    amount=new_amount,
                )
            )
        if new_amount == charged:
            amount = f"{charged:.2f}"
            raise UserError(self.env._("The charge is already %(amount)s.", amount=amount))
        if new_amount > charged:
            amount = f"{charged:.2f}"
            raise UserError(
                self.env._(
                    "A correction only lowers a charge (a partial or full refund of its %(amount)s); "
                    "record more money as a manual entry.",
                    amount=amount,
                )
            )

    def _post_batch(self, movements, *, enforce_max=True, on_date=None):
        """Post many single-wallet movements (ledger_core.BatchMovement) at once, all or nothing.

        Returns (entries, before, after) as ledger_core.post_batch; a refusal becomes a translated
        UserError naming the cardholder.
        """
        self.env.flush_all()
        try:
            with self.env.cr.savepoint():
                entries, before, after = ledger_core.post_batch(
                    self.env.cr, movements, uid=self.env.uid, on_date=on_date, enforce_max=enforce_max
                )
        except LedgerError as error:
            employee = self.env["hr.employee"].browse(error.params.get("employee_id")).exists()
            raise UserError(self._error_message(error, employee)) from error
        self.env["canteen.wallet"].invalidate_model(["balance", "entry_ids"])
        self.env["hr.employee"].invalidate_model(["wallet_ids"])
        self.env["canteen.ledger.entry"].invalidate_model(["correction_ids"])
        return self.env["canteen.ledger.entry"].browse([entry[0] for entry in entries]), before, after

    def _card_check(self, employee, require_card):
        if not require_card:
            return {}
        if not employee.current_card_id:
            raise UserError(self.env._("%(person)s has no card.", person=employee.name))
        return {"card_id": employee.current_card_id.id, "on_date": fields.Date.context_today(self)}

    def _call(self, core_function, employee, *args, **kwargs):
        employee.ensure_one()
        self.env.flush_all()
        try:
            with self.env.cr.savepoint():
                result = core_function(self.env.cr, employee.id, *args, uid=self.env.uid, **kwargs)
        except LedgerError as error:
            raise UserError(self._error_message(error, employee)) from error
        self.env["canteen.wallet"].invalidate_model(["balance", "entry_ids"])
        self.env["hr.employee"].invalidate_model(["wallet_ids"])
        self.env["canteen.ledger.entry"].invalidate_model(["correction_ids"])
        return self.env["canteen.ledger.entry"].browse([entry_id for entry_id, _kind, _after in result[0]])

    def _error_message(self, error, employee):
        """The translated sentence for a refusal of the ledger core."""
        params = {
            key: f"{value:.2f}" if hasattr(value, "quantize") else value
            for key, value in error.params.items()
        }
        name = employee.name or self.env._("this cardholder")
        maximum = f"{ledger_core.MAX_AMOUNT:,.2f}"
        messages = {
            "invalid_amount": self.env._(
                "%(amount)s is not a valid amount: use a positive amount in yuan with at most 2 "
                "decimals, at most %(maximum)s.",
                amount=params.get("amount"),
                maximum=maximum,
            ),
            "insufficient_funds": self.env._(
                "%(person)s does not have enough money: %(missing)s missing.",
                person=name,
                missing=params.get("missing"),
            ),
            "card_lost": self.env._("The card of %(person)s is reported lost.", person=name),
            "card_cancelled": self.env._("The card of %(person)s is cancelled.", person=name),
            "card_expired": self.env._("The card of %(person)s has expired.", person=name),
            "unknown_identity": self.env._("This card does not belong to %(person)s.", person=name),
            "max_balance": self.env._(
                "This would bring the wallet of %(person)s to %(balance)s, above the card type's maximum "
                "balance of %(maximum)s.",
                person=name,
                balance=params.get("balance"),
                maximum=params.get("maximum"),
            ),
            "wallet_not_allowed": self.env._(
                "The card type of %(person)s does not use this wallet.", person=name
            ),
        }
        return messages.get(error.code) or self.env._("Refused: %(code)s", code=error.code)
