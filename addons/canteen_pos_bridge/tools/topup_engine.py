"""Kiosk top-ups (刷脸自动充值) and attendance events, on a `sql_unit.Unit` like a charge: the
bridge runs them on its own connections, the Odoo tests on Odoo's cursor.

A top-up finds the person as a charge does (charge_sql's PERSON), locks their wallets the same
way (in id order) and credits the cash wallet with the ledger core's one statement, under a
desk operation (kind top-up) on the kiosk's journal; Odoo books the operation afterwards
(canteen.terminal.topup._cron_book, asked for through an ir.cron trigger). An attendance event
is recorded for canteen_attendance to turn into a check-in or a check-out.

Both are idempotent on (terminal, seq): a replay answers the stored answer. Declines are answers
and are recorded; a request the terminal may not make at all raises `Refused` (a 4xx).
"""

import contextlib
import json
from datetime import timedelta

import psycopg2.errors

from odoo.addons.canteen_card.tools import ledger_core

from . import charge_engine, topup_sql
from .charge_engine import BadRequest, Decline, money

BOOK_CRON = ("canteen_pos_bridge", "ir_cron_book_kiosk_topups")
ATTENDANCE_CRON = ("canteen_attendance", "ir_cron_process_attendance_events")


class Refused(Exception):
    """This terminal may not make the request at all: answered `status` {"error": code}."""

    def __init__(self, status, code, detail=None):
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


class _Request(charge_engine.TerminalRequest):
    """What top-ups and attendance events share beyond a charge's seq, identity and occurred_at:
    the identity recorded (a face picture is recorded as the face id found) and the face found."""

    def __init__(self, terminal, request, recorded=None, face=None):
        super().__init__(terminal, request)
        self.recorded = recorded or self.identity
        self.face = face

    def params(self):
        kind = self.identity[0]
        params = {key: [None] for key in charge_engine.READ_KEYS}
        params.update(
            kind=[kind],
            value=[self.lookup.upper() if kind in ("card", "qr") else self.lookup],
            path=[self.terminal.company_path],
            terminal=[self.terminal.id],
            seq=[self.seq],
        )
        return params

    def answer(self, **values):
        answer = {"seq": self.seq, **values, "replayed": False}
        if self.face is not None:
            answer["face"] = self.face
        return answer

    def identify(self, row):
        """Decline unless the row names exactly one person (and, for a card or a payment code,
        a card that may be used today)."""
        self.check_identity(row)
        if self.identity[0] in ("card", "qr"):
            today = charge_engine.local_moment(self.terminal, self.received).date()
            charge_engine.check_card_state(row["card_id"], row["state"], row["expiry_date"], today)


def _rows(cursor):
    names = [column.name for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


# --------------------------------------------------------------------------------------------
# top-ups
# --------------------------------------------------------------------------------------------
class Topup(_Request):
    def __init__(self, terminal, request, recorded=None, face=None):
        super().__init__(terminal, request, recorded, face)
        self.check_online_time()
        if request.get("amount") is None:
            raise BadRequest('amount is required: a decimal string such as "100.00"')
        self.amount = charge_engine.parse_amount(request.get("amount"), required=True)
        self.local = charge_engine.local_moment(terminal, self.received)

    def lock_and_read(self, tx):
        """Lock the person's wallets and read; their wallets are made first if they have none."""
        params = self.params()
        for _attempt in range(2):
            cursor = tx.execute((topup_sql.LOCK, params), (topup_sql.TOPUP_READ, params))
            width = ledger_core.ACCOUNT_WIDTH
            names = [column.name for column in cursor.description[:-width]]
            values = cursor.fetchone()
            row = dict(zip(names, values[:-width], strict=True))
            row["account"] = ledger_core.account_from_row(values[-width:]) if row["employee_id"] else None
            account = row["account"]
            if account is None or len(account.wallets) == len(ledger_core.WALLET_KINDS):
                return row
            ledger_core.ensure_wallets(tx.cursor, [account.employee_id])
        return row

    def decide(self, row):
        """(answer, statements to write); Refused for a terminal that is no kiosk."""
        if row["previous"] is not None:
            return dict(charge_engine._json(row["previous"]), replayed=True), []
        if row["kind"] != "kiosk":
            raise Refused(403, "not_a_kiosk", "only self-service kiosks top up")
        allowed = _allowed_amounts(row["topup_amounts"])
        if not allowed or not row["topup_journal_id"]:
            raise Refused(403, "topup_not_configured", "the kiosk has no top-up amounts or journal")
        name = f"K{row['day']}{row['topup_id']:08d}"
        values = {
            "id": row["topup_id"],
            "name": name,
            "terminal_id": self.terminal.id,
            "seq": self.seq,
            "company_id": self.terminal.company_id,
            "employee_id": row["employee_id"],
            "card_id": row["card_id"],
            "identity_type": self.recorded[0],
            "identity_value": self.recorded[1],
            "amount": self.amount,
            "status": "approved",
            "reason": None,
            "occurred_at": self.occurred,
            "operation_id": None,
        }
        holder, statements = None, []
        try:
            if self.amount not in allowed:
                raise Decline("amount_not_allowed")
            self.identify(row)
            holder = {"name": row["name"], "employee_no": row["employee_no"]}
            account = row["account"]
            values["company_id"] = account.company_id
            if account.cardholder_state != "active":
                raise Decline("card_cancelled")
            if account.company_id != row["journal_company_id"]:
                # The money is in this company's kiosk: its books hold the person's wallet.
                raise Decline("not_allowed_here")
            if not account.use_cash:
                raise Decline("wallet_not_allowed")
            if account.over_max("cash", account.balance("cash") + self.amount):
                raise Decline("max_balance")
            operation = {
                "id": row["operation_id"],
                "name": name,
                "date": self.received,
                "company_id": account.company_id,
                "journal_id": row["topup_journal_id"],
                "note": f"{self.terminal.serial} #{self.seq}",
            }
            entry_values = {
                "operation_id": row["operation_id"],
                "terminal_id": self.terminal.id,
                "card_id": row["card_id"],
                "transaction_ref": name,
                "date": self.received,
                "business_date": self.local.date(),
            }
            movement = ledger_core.Movement("cash", self.amount, "topup")
            query, params, _after = ledger_core.entries_statement(
                [(account, [movement], entry_values, False)]
            )
            values["operation_id"] = row["operation_id"]
            statements = [
                (topup_sql.OPERATION_INSERT, operation),
                (query, params),
                (topup_sql.CRON_TRIGGER, list(BOOK_CRON)),
            ]
            answer = self.answer(
                topup_id=name,
                status="approved",
                reason=None,
                amount=money(self.amount),
                balances={kind: money(balance) for kind, balance in account.balances().items()},
                cardholder=holder,
            )
        except Decline as decline:
            statements = []
            values.update(status="declined", reason=decline.reason)
            answer = self.answer(
                topup_id=name, status="declined", reason=decline.reason, amount="0.00", cardholder=holder
            )
        values["response"] = json.dumps(answer)
        # One transaction: a (terminal, seq) recorded meanwhile undoes all of it.
        return answer, [*statements[:1], (topup_sql.TOPUP_INSERT, values), *statements[1:]]


def _allowed_amounts(text):
    amounts = set()
    for part in (text or "").split(","):
        try:
            amounts.add(ledger_core.to_amount(part.strip()))
        except ledger_core.LedgerError:
            return set()  # the form refuses such a setting; never guess
    return amounts


def topup(tx, terminal, request, *, recorded=None, face=None):
    """Top up on the unit `tx`, finishing it; the answer. BadRequest when malformed, Refused when
    the terminal is no kiosk (nothing written)."""
    topup_ = Topup(terminal, request, recorded, face)
    try:
        answer, statements = topup_.decide(topup_.lock_and_read(tx))
        tx.finish(*statements)
    except psycopg2.errors.UniqueViolation as error:
        if error.diag.constraint_name != topup_sql.SEQ_CONSTRAINT:
            raise
        return charge_engine.replay(tx, topup_sql.TOPUP_PREVIOUS, topup_)
    except (Refused, psycopg2.Error):
        with contextlib.suppress(psycopg2.Error):
            tx.abort()
        raise
    return answer


# --------------------------------------------------------------------------------------------
# attendance
# --------------------------------------------------------------------------------------------
class AttendanceEvent(_Request):
    def check_time(self):
        """Online or uploaded later (a time clock keeps working offline): at most the company's
        offline days old, never in the future."""
        oldest = self.received - timedelta(days=self.terminal.offline_max_days)
        if not oldest <= self.occurred <= self.received + charge_engine.CLOCK_WINDOW:
            raise Decline("invalid_time")

    def decide(self, row):
        if row["previous"] is not None:
            return dict(charge_engine._json(row["previous"]), replayed=True), []
        if not row["attendance_point"]:
            raise Refused(403, "not_attendance_point", "the terminal is not an attendance point")
        name = f"A{row['day']}{row['event_id']:08d}"
        values = {
            "id": row["event_id"],
            "name": name,
            "terminal_id": self.terminal.id,
            "seq": self.seq,
            "company_id": self.terminal.company_id,
            "employee_id": row["employee_id"],
            "identity_type": self.recorded[0],
            "identity_value": self.recorded[1],
            "occurred_at": self.occurred,
            "status": "recorded",
            "reason": None,
            "state": "pending",
        }
        statements = []
        holder = None
        try:
            self.identify(row)
            self.check_time()
            holder = {"name": row["name"], "employee_no": row["employee_no"]}
            values["company_id"] = row["employee_company_id"]
            statements = [(topup_sql.CRON_TRIGGER, list(ATTENDANCE_CRON))]
            answer = self.answer(event_id=name, status="recorded", reason=None, cardholder=holder)
        except Decline as decline:
            values.update(status="declined", reason=decline.reason, state="ignored")
            answer = self.answer(event_id=name, status="declined", reason=decline.reason, cardholder=None)
        values["response"] = json.dumps(answer)
        return answer, [(topup_sql.EVENT_INSERT, values), *statements]


def attendance(tx, terminal, request, *, recorded=None, face=None):
    """Record an attendance identification on the unit `tx`, finishing it; the answer."""
    event = AttendanceEvent(terminal, request, recorded, face)
    try:
        cursor = tx.execute((topup_sql.ATTENDANCE_READ, event.params()))
        answer, statements = event.decide(_rows(cursor)[0])
        tx.finish(*statements)
    except psycopg2.errors.UniqueViolation as error:
        if error.diag.constraint_name != topup_sql.EVENT_SEQ_CONSTRAINT:
            raise
        return charge_engine.replay(tx, topup_sql.EVENT_PREVIOUS, event)
    except (Refused, psycopg2.Error):
        with contextlib.suppress(psycopg2.Error):
            tx.abort()
        raise
    return answer
