"""Authorise and charge terminal requests: identity, card, dedup window, meal period,
consumption rules, then the ledger core. Used by the bridge (its own connections, a batch of
charges at a time) and by the backend cashier (Odoo's cursor, one charge), so both apply the
same rules the same way.

A run is two round trips on a `sql_unit.Unit`: lock and read for every charge of the batch,
decide each in Python, then write them all with the unit's closing (COMMIT on the bridge).
"""

import contextlib
import functools
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg2.errors
import pytz

from odoo.addons.canteen_card.tools import ledger_core
from odoo.addons.canteen_card.tools.ledger_core import CENT, ZERO, LedgerError

from . import charge_sql, meal_sql

IDENTITY_TYPES = ("card", "face", "employee", "qr")
STATE_REASONS = {"lost": "card_lost", "cancelled": "card_cancelled", "replaced": "card_replaced"}
# Automatic terminals charge whoever they see: only they deduplicate (a face recognised twice).
AUTO_MODES = ("fixed", "count")
# An online charge's occurred_at may differ from the server clock by this much (as the
# X-Canteen-Timestamp header); an offline record may not be later than now plus this.
CLOCK_WINDOW = timedelta(seconds=300)
# A payment QR code (`qr` identity, shown on the cardholder's portal page): "CQ1.<card UID>.
# <expiry, Unix seconds>.<signature>", signed with a key derived from the database secret.
QR_PREFIX = "CQ1"
QR_LIFETIME = 60  # seconds a payload is valid; the portal shows a new one before that
QR_GRACE = 10  # seconds a terminal may take to send a payload it scanned in time
# An offline upload is split in parts written side by side (see upload_parts) only when each
# part gets at least this many records: below, a second transaction costs more than it saves.
OFFLINE_PART_MIN = 250


class BadRequest(Exception):
    """The request is malformed: a 400, and nothing changes."""


class Decline(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Exceptional(Decline):
    """An offline record that cannot be charged as it is (its card was cancelled and the wallet
    refunded): accepted from the terminal, recorded for a card manager to decide (异常处理)."""


@dataclass
class Terminal:
    """What the charge path needs of a terminal; the bridge caches it for a few seconds."""

    id: int
    serial: str
    secret: str
    enabled: bool
    company_id: int
    company_path: str  # parent_path of its company: it serves the cardholders of that subtree
    merchant_id: int | None
    mode: str
    fixed_amount: Decimal
    timezone: str
    dedup_window: int
    offline_max_days: int  # how old an offline record may be
    meal_periods: list  # [(kind, hour_from, hour_to)] of the merchant
    fixed_amounts: dict  # {meal kind: Decimal} in fixed-amount mode
    menu_prices: dict  # {product code: Decimal} of the merchant's active menu items
    # With canteen_meal_booking (tools/meal_sql.py): the canteen of the merchant, whether it
    # declines people without a booking; the key that signs payment QR codes.
    canteen_id: int | None = None
    booking_required: bool = False
    qr_key: bytes = b""

    @property
    def reads_meals(self):
        """Whether its charges read the booking and the published menu (meal_sql.READ)."""
        return bool(self.canteen_id and (self.booking_required or self.mode == "menu"))


TERMINAL_QUERY = """
    SELECT t.id, t.serial, t.secret, t.enabled AND t.active, t.company_id, c.parent_path,
           t.merchant_id, t.mode,
           COALESCE(t.fixed_amount, 0)::text, COALESCE(rc.tz, p.tz, 'Asia/Shanghai'),
           COALESCE(c.canteen_dedup_window, 60), COALESCE(c.canteen_offline_max_days, 7),
           (SELECT json_agg(json_build_array(m.kind, m.hour_from, m.hour_to))
              FROM canteen_meal_period m WHERE m.merchant_id = t.merchant_id),
           (SELECT json_object_agg(f.meal_kind, f.amount::text)
              FROM canteen_terminal_fixed_amount f WHERE f.terminal_id = t.id),
           (SELECT json_object_agg(m.code, m.price::text)
              FROM canteen_menu_item m WHERE m.merchant_id = t.merchant_id AND m.active)
      FROM canteen_terminal t
      JOIN res_company c ON c.id = t.company_id
      JOIN res_partner p ON p.id = c.partner_id
      LEFT JOIN resource_calendar rc ON rc.id = c.resource_calendar_id
     WHERE t.serial = %s
"""


def load_terminal(cr, serial):
    cr.execute(TERMINAL_QUERY, [serial])
    row = cr.fetchone()
    if not row:
        return None
    *head, fixed_amount, timezone, dedup_window, offline_max_days, periods, fixed_amounts, prices = row
    terminal = Terminal(
        *head,
        Decimal(fixed_amount),
        timezone,
        dedup_window,
        offline_max_days,
        [tuple(period) for period in _json(periods) or ()],
        {kind: Decimal(amount) for kind, amount in (_json(fixed_amounts) or {}).items()},
        {code: Decimal(price) for code, price in (_json(prices) or {}).items()},
    )
    cr.execute(meal_sql.TERMINAL_EXTRAS)
    has_canteens, secret = cr.fetchone()
    terminal.qr_key = qr_key(secret or "")
    if has_canteens and terminal.merchant_id:
        cr.execute(meal_sql.CANTEEN, [terminal.merchant_id])
        terminal.canteen_id, terminal.booking_required = cr.fetchone() or (None, False)
    return terminal


def qr_key(secret):
    """The key that signs payment QR codes, derived from the database secret."""
    return hmac.new(secret.encode(), b"canteen-payment-qr", hashlib.sha256).digest()


def qr_signature(key, uid, expires):
    return hmac.new(key, f"{QR_PREFIX}.{uid}.{expires}".encode(), hashlib.sha256).hexdigest()[:32].upper()


def qr_payload(key, uid, expires):
    """The text of a payment QR code for the card `uid`, valid until `expires` (Unix seconds)."""
    uid = uid.upper()
    return f"{QR_PREFIX}.{uid}.{int(expires)}.{qr_signature(key, uid, int(expires))}"


def qr_check(key, payload, moment):
    """(card UID, decline reason or None) of a payment QR payload scanned at `moment` (naive
    UTC): `unknown_identity` when it is not one we signed, `qr_expired` when too old."""
    parts = payload.upper().split(".")
    if len(parts) != 4 or parts[0] != QR_PREFIX or not parts[2].isdigit() or not key:
        return "", "unknown_identity"
    _prefix, uid, expires, signature = parts
    if not hmac.compare_digest(qr_signature(key, uid, int(expires)), signature):
        return uid, "unknown_identity"
    if moment.replace(tzinfo=UTC).timestamp() > int(expires) + QR_GRACE:
        return uid, "qr_expired"
    return uid, None


def _json(value):
    """A json column's value: psycopg2 decodes it, unless a caller's cursor returns text."""
    return json.loads(value) if isinstance(value, str) else value


def parse_amount(value, required):
    if value is None:
        if required:
            raise BadRequest("amount is required in free-amount mode")
        return None
    if not isinstance(value, str):
        raise BadRequest('amount must be a decimal string such as "12.50"')
    try:
        return ledger_core.to_amount(value)
    except LedgerError as error:
        raise BadRequest(f"invalid amount {value!r}") from error


def parse_identity(identity):
    if not isinstance(identity, dict) or identity.get("type") not in IDENTITY_TYPES:
        raise BadRequest(f"identity.type must be one of {', '.join(IDENTITY_TYPES)}")
    value = identity.get("value")
    if not isinstance(value, str) or not 0 < len(value) <= 128:
        raise BadRequest("identity.value must be a string of 1 to 128 characters")
    return identity["type"], value.strip()


def parse_time(value):
    if not isinstance(value, str):
        raise BadRequest("occurred_at must be an ISO 8601 time with offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise BadRequest(f"occurred_at {value!r} is not ISO 8601") from error
    if moment.tzinfo is None:
        raise BadRequest("occurred_at needs an offset, e.g. +08:00")
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_seq(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise BadRequest("seq must be an integer from 0 to 2147483647")
    return value


# --------------------------------------------------------------------------------------------
# the decision: no database
# --------------------------------------------------------------------------------------------
def check_card_state(card_id, state, expiry_date, on_date):
    if not card_id:
        raise Decline("card_cancelled")
    if state in STATE_REASONS:
        raise Decline(STATE_REASONS[state])
    if state == "expired" or (expiry_date and expiry_date < on_date):
        raise Decline("card_expired")


@functools.lru_cache(maxsize=64)
def _zone(name):
    # pytz normalises the name at every lookup; an upload converts a thousand records.
    return pytz.timezone(name)


def local_moment(terminal, moment_utc):
    return pytz.utc.localize(moment_utc).astimezone(_zone(terminal.timezone))


def meal_kind(terminal, local):
    """The meal the local time falls in at the terminal's merchant; None when the merchant has
    no meal periods (a shop), or when the time is outside all of them ("" then: a decline
    online, no meal offline)."""
    if not terminal.meal_periods:
        return None
    hour = local.hour + local.minute / 60 + local.second / 3600
    for kind, hour_from, hour_to in terminal.meal_periods:
        if hour_from <= hour < hour_to:
            return kind
    return ""


def menu_quantities(items):
    """{product code: qty} of a menu-mode request; BadRequest when malformed."""
    if not isinstance(items, list) or not 0 < len(items) <= 50:
        raise BadRequest("items must be a list of 1 to 50 {product, qty}")
    quantities = {}
    for item in items:
        product, qty = (item.get("product"), item.get("qty", 1)) if isinstance(item, dict) else (None, None)
        if (
            not isinstance(product, str)
            or not isinstance(qty, int)
            or isinstance(qty, bool)
            or not 0 < qty <= 99
        ):
            raise BadRequest("each item needs a product code and a qty from 1 to 99")
        quantities[product] = quantities.get(product, 0) + qty
    return quantities


def meal_amount(terminal, kind, amount, quantities, menu_prices=None):
    """What the meal costs, by the terminal's mode. In menu mode a dish on the canteen's published
    menu of the meal costs the menu's price (`menu_prices`), other items the merchant's."""
    if terminal.mode == "count":
        return ZERO
    if terminal.mode == "fixed":
        fixed = terminal.fixed_amounts.get(kind, terminal.fixed_amount)
        if fixed <= 0:
            raise BadRequest("this fixed-amount terminal has no amount for the meal")
        return fixed
    if quantities:
        prices = dict(terminal.menu_prices)
        prices.update({code: Decimal(price) for code, price in (menu_prices or {}).items()})
        unknown = set(quantities) - set(prices)
        if unknown:
            raise BadRequest(f"unknown products: {', '.join(sorted(unknown))}")
        return sum((prices[code] * qty for code, qty in quantities.items()), ZERO)
    if amount is None:
        raise BadRequest("amount (or items in menu mode) is required")
    return amount


def apply_rules(rules, spent, amount):
    """(charged, discount) after the rule group's discount; Decline past a limit."""
    if not rules:
        return amount, ZERO
    allowed, count_limit, meal_limit, discount_percent, daily_limit = rules
    meal_limit, daily_limit = Decimal(meal_limit), Decimal(daily_limit)
    if allowed is False:
        raise Decline("outside_meal_period")
    charged = (amount * (100 - Decimal(str(discount_percent))) / 100).quantize(CENT, ROUND_HALF_UP)
    meals, meal_spent, day_spent = spent
    if count_limit and meals >= count_limit:
        raise Decline("count_limit")
    if meal_limit and Decimal(meal_spent) + charged > meal_limit:
        raise Decline("amount_limit")
    if daily_limit and Decimal(day_spent) + charged > daily_limit:
        raise Decline("daily_limit")
    return charged, amount - charged


def money(value):
    return f"{(value or ZERO).quantize(CENT)}"


# --------------------------------------------------------------------------------------------
# the charge
# --------------------------------------------------------------------------------------------
class TerminalRequest:
    """What a terminal's numbered request carries (a charge, an offline record, a kiosk top-up,
    an attendance event): seq, identity and occurred_at, parsed on creation (BadRequest when
    malformed), and the card UID a payment QR code names once its signature and age are checked
    at the request's moment: the server's time, or for an offline record the terminal's."""

    def __init__(self, terminal, request, *, offline=False):
        self.terminal = terminal
        self.seq = parse_seq(request.get("seq"))
        self.identity = parse_identity(request.get("identity"))
        self.occurred = parse_time(request.get("occurred_at"))
        self.received = datetime.now(UTC).replace(tzinfo=None)
        self.moment = self.occurred if offline else self.received
        self.lookup, self.identity_problem = self.identity[1], None
        if self.identity[0] == "qr":
            self.lookup, self.identity_problem = qr_check(terminal.qr_key, self.identity[1], self.moment)

    def check_online_time(self):
        if abs(self.occurred - self.received) > CLOCK_WINDOW:
            raise BadRequest("occurred_at is more than 300 s from the server clock")

    def check_identity(self, row):
        """Decline unless the identity names exactly one person (`row` of a read by PERSON)."""
        if self.identity_problem:
            raise Decline(self.identity_problem)
        if row["employee_id"] is None or (row["matches"] or 0) > 1:
            raise Decline("unknown_identity")


def replay(tx, query, request):
    """The stored answer of the request's (terminal, seq), which a concurrent request recorded
    first, after undoing ours; `query` reads the response column by terminal and seq."""
    with contextlib.suppress(psycopg2.Error):
        tx.abort()
    cursor = tx.cursor
    cursor.execute(query, [request.terminal.id, request.seq])
    return dict(_json(cursor.fetchone()[0]), replayed=True)


class Charge(TerminalRequest):
    """One request (online, or one offline record): parsed on creation (BadRequest when
    malformed), decided from its row of the read, written with the others of its batch.

    Declines are answers too: they are recorded and replayed like approvals. Nothing is written
    before every decision of the batch is made, so a decline or a bad request undoes nothing.
    """

    def __init__(self, terminal, request, *, offline=False, nonce=None, uid=None):
        # uid: the Odoo user who charges (the backend cashier); None for a terminal's charge.
        # An online charge happens now, at the server's time (the terminal's occurred_at is kept
        # for information); an offline record when the terminal says, within bounds (_check_time).
        super().__init__(terminal, request, offline=offline)
        self.offline, self.nonce, self.uid = offline, nonce, uid
        if not offline:
            self.check_online_time()
        items = request.get("items") if terminal.mode == "menu" else None
        self.quantities = menu_quantities(items) if items is not None else None
        self.amount = parse_amount(
            request.get("amount"), required=terminal.mode == "free" and not self.quantities
        )
        self.local = local_moment(terminal, self.moment)
        self.meal = meal_kind(terminal, self.local)
        # What an offline record costs depends on the terminal and the record alone: priced (and
        # refused when it cannot be) before anything of its upload is written.
        self.offline_price = None
        if offline:
            kind = self.meal or None
            amount = self.amount if self.amount is not None else meal_amount(terminal, kind, None, None)
            self.offline_price = (amount, ZERO)
        self.answer = None  # set by decide(), or by a replay
        self.values = None  # the transaction record, when this charge writes one
        self.posting = None  # (account, movements, entry values, overdraft) when money moves
        self.error = None  # a BadRequest found while deciding: this request alone is refused

    @property
    def key(self):
        """Charges with the same key must not share a batch: the second would not see the first."""
        return self.identity

    def read_params(self):
        kind, value = self.identity[0], self.lookup
        return {
            "kind": kind,
            "value": value.upper() if kind in ("card", "qr") else value,
            "path": self.terminal.company_path,
            "terminal": self.terminal.id,
            "seq": self.seq,
            "meal": self.meal or None,
            "day": self.local.date(),
            "window": self.terminal.dedup_window
            if not self.offline and self.terminal.mode in AUTO_MODES
            else 0,
            "priced": not self.offline,
            # meal_sql.READ only: the canteen's booking and published menu.
            "canteen": self.terminal.canteen_id,
            "booking": self.terminal.booking_required and not self.offline,
            "menu": self.terminal.mode == "menu" and bool(self.quantities),
        }

    def decide(self, row):
        """Fill the answer, and what to write, from this charge's row of the read."""
        self.values = self.posting = self.error = None
        if row["previous"] is not None:
            self.answer = dict(_json(row["previous"]), replayed=True)
            return
        name = f"T{row['tx_day']}{row['tx_id']:08d}"
        self.values = {
            "id": row["tx_id"],
            "name": name,
            "terminal_id": self.terminal.id,
            "seq": self.seq,
            "status": "approved",
            "reason": None,
            "offline": self.offline,
            "deduplicated": False,
            "overdraft": False,
            "after_loss": False,
            "original_id": None,
            "identity_type": self.identity[0],
            "identity_value": self.identity[1],
            "occurred_at": self.occurred,
            "business_date": self.local.date(),
            "meal_kind": self.meal or None,
            "employee_id": row["employee_id"],
            "card_id": row["card_id"],
            "company_id": self.terminal.company_id,
            "amount_requested": self.amount,
            "charged": None,
            "discount": None,
            "exception_state": None,
            "create_uid": self.uid,
        }
        self.answer = {"seq": self.seq, "transaction_id": name, "replayed": False}
        try:
            self.answer.update(self._decide(row))
        except Decline as decline:
            self.posting = None
            status = "exception" if isinstance(decline, Exceptional) else "declined"
            self.answer.update(status=status, reason=decline.reason, charged="0.00", discount="0.00")
            self.values.update(status=status, reason=decline.reason)
            if status == "exception":
                self.values.update(exception_state="open", charged=ZERO, discount=ZERO)
        except BadRequest as error:
            self.error, self.values, self.posting = error, None, None
            return
        self.values["response"] = json.dumps(self.answer)

    def _decide(self, row):
        """The approved answer; Decline otherwise. Fills the transaction values as it goes."""
        terminal, offline, values = self.terminal, self.offline, self.values
        if not terminal.merchant_id:
            raise Decline("not_allowed_here")
        self.check_identity(row)
        account = row["account"]
        values["company_id"] = account.company_id
        if not row["allowed_here"]:
            # The cardholder's company does not accept its cards at this merchant's company
            # (res.company._canteen_accepts_cards_at); offline too: declined like an unknown card.
            raise Decline("not_allowed_here")
        self._check_time()
        after_loss = self._check_card(row)
        if account.cardholder_state != "active" and not offline:
            raise Decline("card_cancelled")
        holder = {"name": row["name"], "employee_no": row["employee_no"]}
        if row["recent"]:
            original_id, original_name = _json(row["recent"])
            values.update(deduplicated=True, original_id=original_id, charged=ZERO, discount=ZERO)
            return _approved(account.balances(), holder, ZERO, ZERO, None, deduplicated=original_name)
        if self.meal == "" and not offline:
            raise Decline("outside_meal_period")
        if row.get("booked") is False:
            # The canteen requires a booking of the meal (not asked offline: the meal was eaten).
            raise Decline("not_booked")
        kind = self.meal or None
        charged, discount = self._price(kind, row)
        overdraft = False
        balances = account.balances()
        if charged > 0:
            try:
                taken, overdraft = ledger_core.split_charge(account, charged, allow_overdraft=offline)
            except LedgerError as error:
                raise Decline(error.code) from error
            movements = [ledger_core.Movement(k, -part, "charge") for k, part in taken.items() if part]
            self.posting = (account, movements, self._entry_values(row, values["name"]), overdraft)
            # The answer's balances: the ledger core moves the account's only when the batch's
            # statement is built (and a batch never holds two charges of one account).
            for movement in movements:
                balances[movement.kind] += movement.amount
        values.update(charged=charged, discount=discount, overdraft=overdraft, after_loss=after_loss)
        return _approved(
            balances, holder, charged, discount, kind, overdraft=overdraft, after_loss=after_loss
        )

    def _check_time(self):
        """An offline record is at most the company's days old and never in the future."""
        if not self.offline:
            return
        oldest = self.received - timedelta(days=self.terminal.offline_max_days)
        if not oldest <= self.occurred <= self.received + CLOCK_WINDOW:
            raise Decline("invalid_time")

    def _check_card(self, row):
        """Whether an offline record is after the card's loss; Decline for a card that may not
        pay online; Exceptional for an offline record of a cancelled card."""
        if not self.offline:
            check_card_state(row["card_id"], row["state"], row["expiry_date"], self.local.date())
            return False
        if not row["card_id"]:
            raise Decline("unknown_identity")
        if row["state"] == "cancelled":
            # Its wallet was refunded at the cancellation: a card manager decides.
            self.values["amount_requested"] = self.offline_price[0]
            raise Exceptional("card_cancelled")
        # Money already spent: a record of a card lost before it is accepted and flagged.
        return bool(
            row["state"] in ("lost", "replaced") and (not row["lost_at"] or row["lost_at"] <= self.occurred)
        )

    def _entry_values(self, row, name):
        return {
            "merchant_id": self.terminal.merchant_id,
            "terminal_id": self.terminal.id,
            "card_id": row["card_id"],
            "transaction_ref": name,
            "date": self.moment,
            # The ledger is the one place reports read: the meal and the terminal's local day.
            "business_date": self.local.date(),
            "meal_kind": self.meal or None,
        }

    def _price(self, kind, row):
        """(charged, discount) of this request."""
        if self.offline:
            return self.offline_price
        price = meal_amount(self.terminal, kind, self.amount, self.quantities, _json(row.get("menu_prices")))
        if not kind:
            return price, ZERO
        return apply_rules(_json(row["rules"]), _json(row["spent"]), price)


def _approved(
    balances, holder, charged, discount, kind, *, deduplicated=None, overdraft=False, after_loss=False
):
    answer = {
        "status": "approved",
        "reason": None,
        "charged": money(charged),
        "discount": money(discount),
        "meal": kind,
        "balances": {k: money(v) for k, v in balances.items()},
        "cardholder": holder,
        "deduplicated": bool(deduplicated),
    }
    if deduplicated:
        answer["original_transaction_id"] = deduplicated
    else:
        answer.update(overdraft=overdraft, after_loss=after_loss)
    return answer


READ_KEYS = ("kind", "value", "path", "terminal", "seq", "meal", "day", "window", "priced")


def read_rows(tx, charges):
    """Lock the wallets of everyone the charges name, then read what each decision needs: one
    round trip (with whatever the unit has pending, e.g. BEGIN). A row per charge, in order."""
    asked = [charge.read_params() for charge in charges]
    params = {key: [one[key] for one in asked] for key in READ_KEYS}
    read = charge_sql.READ
    if any(charge.terminal.reads_meals for charge in charges):
        read = meal_sql.READ
        params.update({key: [one[key] for one in asked] for key in meal_sql.READ_KEYS})
    cursor = tx.execute((charge_sql.LOCK, params), (read, params))
    width, rows = ledger_core.ACCOUNT_WIDTH, []
    names = [column.name for column in cursor.description[:-width]]
    for values in cursor.fetchall():
        row = dict(zip(names, values[:-width], strict=True))
        row["account"] = ledger_core.account_from_row(values[-width:]) if row["employee_id"] else None
        rows.append(row)
    return rows


def write_statements(charges):
    """The statements that record the decided charges: nonces, heartbeats, transaction records
    and ledger entries."""
    written = [charge for charge in charges if charge.values]
    signed = [charge for charge in charges if charge.nonce and not charge.error]
    statements = []
    if signed:
        statements += [
            (charge_sql.NONCES, [[c.terminal.id for c in signed], [c.nonce for c in signed]]),
            (charge_sql.HEARTBEATS, [sorted({c.terminal.id for c in signed})]),
        ]
    if written:
        columns = [[charge.values[name] for charge in written] for name in charge_sql.TRANSACTION_TYPES]
        statements.append((charge_sql.TRANSACTIONS, columns))
    postings = [charge.posting for charge in written if charge.posting]
    if postings:
        # Written by a terminal (no user: see charge_sql.TRANSACTIONS) or by one cashier.
        query, params, _after = ledger_core.entries_statement(postings, uid=written[0].uid)
        statements.append((query, params))
    return statements


def run(tx, charges):
    """Read, decide and write `charges` on the unit, finishing it. Charges naming a person
    already charged earlier in the list are left undecided (answer None) for another run.
    A database error (e.g. UniqueViolation: a (terminal, seq) or a nonce recorded meanwhile)
    is raised after the unit is undone; the caller may then run the charges one by one (see
    `charge_one`)."""
    try:
        rows = read_rows(tx, charges)
        decided, people = [], set()
        for charge, row in zip(charges, rows, strict=True):
            if row["employee_id"] in people:
                continue
            people.add(row["employee_id"] or None)
            charge.decide(row)
            decided.append(charge)
        tx.finish(*write_statements(decided))
    except psycopg2.Error:
        with contextlib.suppress(psycopg2.Error):
            tx.abort()
        raise
    decided_ids = {id(charge) for charge in decided}
    return [charge for charge in charges if id(charge) not in decided_ids]


def charge(tx, terminal, request, *, offline=False, nonce=None, uid=None):
    """Authorise and charge one request on the unit `tx`, finishing it; returns the answer.
    BadRequest when the request is malformed (nothing written)."""
    return charge_one(tx, Charge(terminal, request, offline=offline, nonce=nonce, uid=uid))


def charge_one(tx, charge_):
    """Run one parsed charge; its (terminal, seq) recorded meanwhile by a concurrent request
    makes it a replay of that one."""
    try:
        run(tx, [charge_])
    except psycopg2.errors.UniqueViolation as error:
        if error.diag.constraint_name != charge_sql.SEQ_CONSTRAINT:
            raise
        return replay(tx, charge_sql.PREVIOUS, charge_)
    if charge_.error:
        raise charge_.error
    return charge_.answer


# --------------------------------------------------------------------------------------------
# offline uploads
# --------------------------------------------------------------------------------------------
def upload(tx, terminal, records):
    """Record a batch of offline records inside the unit `tx` (the upload's transaction): all
    parsed first (BadRequest for a malformed one: nothing is written), then decided and written
    many at a time like online charges, each exactly once: a seq already known is a duplicate.
    Returns one result per record, in order. (The bridge writes a large upload in parts side by
    side: `upload_parts`.)"""
    charges = parse_upload(terminal, records)
    for part in upload_parts(charges, 1):
        upload_charges(tx, part)
    return upload_results(charges)


def parse_upload(terminal, records):
    """The charges of an upload's records; BadRequest for a malformed one, before any write."""
    return [Charge(terminal, record, offline=True) for record in records]


def upload_parts(charges, parts):
    """The upload's charges in at most `parts` groups (none smaller than OFFLINE_PART_MIN) that
    may be written side by side, each in a transaction of its own. A seq's first record only
    (a repeat is answered from it: `upload_results`); every record of one identity in one group,
    in upload order, so that a person's records are charged in order, by one transaction."""
    first = {}
    unique = [charge_ for charge_ in charges if first.setdefault(charge_.seq, charge_) is charge_]
    count = max(1, min(parts, len(unique) // OFFLINE_PART_MIN))
    groups = [[] for _n in range(count)]
    for charge_ in unique:
        kind, value = charge_.identity
        groups[zlib.crc32(f"{kind}:{value}".encode()) % count].append(charge_)
    return [group for group in groups if group]


def upload_charges(tx, charges):
    """Decide and write one group of `upload_parts` in the unit `tx`, a round at a time (a round
    holds each person once). The caller finishes the unit."""
    if tx.pending:
        tx.execute()  # BEGIN, the nonce and the heartbeat, outside the savepoints below
    pending, rounds = charges, 0
    while pending:
        rounds += 1
        try:
            pending = run(tx.nested(f"canteen_upload_{rounds}"), pending)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name != charge_sql.SEQ_CONSTRAINT:
                raise
            # A seq recorded meanwhile by another upload: one by one.
            for number, charge_ in enumerate(pending):
                charge_.answer = charge_one(tx.nested(f"canteen_record_{rounds}_{number}"), charge_)
            pending = []


def upload_results(charges):
    """One result per record of the upload, in order, once every group is written."""
    first = {}
    for charge_ in charges:
        original = first.setdefault(charge_.seq, charge_)
        if original is not charge_:
            # The same seq earlier in the upload: this one is its duplicate.
            charge_.answer = dict(original.answer, replayed=True)
    failed = next((charge_ for charge_ in charges if charge_.error), None)
    if failed:
        raise failed.error  # offline records are priced when parsed: not seen in practice
    return [_upload_result(charge_) for charge_ in charges]


def _upload_result(charge_):
    answer = charge_.answer
    status = (
        "duplicate"
        if answer.get("replayed")
        else ("accepted" if answer.get("status") in ("approved", "exception") else "rejected")
    )
    return {
        "seq": charge_.seq,
        "status": status,
        "transaction_id": answer.get("transaction_id"),
        "overdraft": bool(answer.get("overdraft")),
        "after_loss": bool(answer.get("after_loss")),
        "exception": answer.get("status") == "exception",
        "reason": answer.get("reason"),
    }


# --------------------------------------------------------------------------------------------
# balance
# --------------------------------------------------------------------------------------------
def balance(tx, terminal, identity):
    """The balance answer of an identity; None when unknown."""
    kind, value = parse_identity(identity)
    if kind == "qr":
        value, problem = qr_check(terminal.qr_key, value, datetime.now(UTC).replace(tzinfo=None))
        if problem:
            return None
    params = {key: [None] for key in READ_KEYS}
    params.update(
        kind=[kind],
        value=[value.upper() if kind in ("card", "qr") else value],
        path=[terminal.company_path],
        terminal=[terminal.id],
    )
    row = tx.execute((charge_sql.BALANCE, params)).fetchone()
    if not row:
        return None
    card_id, state, expiry_date, name, employee_no, matches, wallets = row
    if (matches or 0) > 1:
        return None
    balances = dict.fromkeys(ledger_core.WALLET_KINDS, "0.00")
    balances.update({kind: money(Decimal(amount)) for kind, amount in (_json(wallets) or {}).items()})
    card_status = state if card_id else "none"
    today = local_moment(terminal, datetime.now(UTC).replace(tzinfo=None)).date()
    if state == "active" and expiry_date and expiry_date < today:
        card_status = "expired"
    return {
        "cardholder": {"name": name, "employee_no": employee_no},
        "card_status": card_status,
        "balances": balances,
    }
