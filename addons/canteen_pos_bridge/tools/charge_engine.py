"""Authorise and charge a terminal request on a plain cursor: identity, card, dedup window,
meal period, consumption rules, then the ledger core. Used by the bridge (its own connections)
and by the backend cashier (Odoo's cursor), so both apply the same rules the same way.

Everything happens in the caller's transaction; the caller commits, then answers.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import psycopg2.errors
import pytz

from odoo.addons.canteen_card.tools import ledger_core
from odoo.addons.canteen_card.tools.ledger_core import CENT, ZERO, LedgerError

IDENTITY_TYPES = ("card", "face", "employee", "qr")
STATE_REASONS = {"lost": "card_lost", "cancelled": "card_cancelled", "replaced": "card_cancelled"}


class BadRequest(Exception):
    """The request is malformed: a 400, and nothing changes."""


class Decline(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Terminal:
    """What the charge path needs of a terminal; the bridge caches it for a few seconds."""

    id: int
    serial: str
    secret: str
    enabled: bool
    company_id: int
    company_ids: list  # the terminal's company and its branches: whose cardholders it serves
    merchant_id: int | None
    mode: str
    fixed_amount: Decimal
    timezone: str
    dedup_window: int
    meal_periods: list  # [(kind, hour_from, hour_to)] of the merchant
    fixed_amounts: dict  # {meal kind: Decimal} in fixed-amount mode


TERMINAL_QUERY = """
    SELECT t.id, t.serial, t.secret, t.enabled AND t.active, t.company_id,
           (SELECT array_agg(b.id) FROM res_company b WHERE b.parent_path LIKE c.parent_path || '%%'),
           t.merchant_id, t.mode,
           COALESCE(t.fixed_amount, 0)::text, COALESCE(rc.tz, p.tz, 'Asia/Shanghai'),
           COALESCE(c.canteen_dedup_window, 60),
           (SELECT json_agg(json_build_array(m.kind, m.hour_from, m.hour_to))
              FROM canteen_meal_period m WHERE m.merchant_id = t.merchant_id),
           (SELECT json_object_agg(f.meal_kind, f.amount::text)
              FROM canteen_terminal_fixed_amount f WHERE f.terminal_id = t.id)
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
    *head, fixed_amount, timezone, dedup_window, periods, fixed_amounts = row
    return Terminal(
        *head,
        Decimal(fixed_amount),
        timezone,
        dedup_window,
        [tuple(period) for period in _json(periods) or ()],
        {kind: Decimal(amount) for kind, amount in (_json(fixed_amounts) or {}).items()},
    )


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
# the read: one round trip
# --------------------------------------------------------------------------------------------
def person_query(terminal, identity_type, value):
    """The cardholder an identity names, among the terminal's company and its branches, as a
    query of (employee_id, card_id, state, lost_at, expiry_date) with its named params."""
    params = {"identity": value, "companies": terminal.company_ids}
    if identity_type in ("card", "qr"):
        # A UID may be reused by a dead card: prefer the live one, then the newest.
        params.update(identity=value.upper(), any_card=identity_type == "card")
        query = """SELECT c.employee_id, c.id AS card_id, c.state, c.lost_at, c.expiry_date
                     FROM canteen_card c
                    WHERE c.uid = %(identity)s AND c.company_id = ANY(%(companies)s::int[])
                      AND (%(any_card)s::bool OR c.kind = 'virtual')
                    ORDER BY c.state IN ('active', 'lost') DESC, c.id DESC LIMIT 1"""
    else:
        column = "employee_no" if identity_type == "employee" else "canteen_face_id"
        query = f"""SELECT e.id AS employee_id, c.id AS card_id, c.state, c.lost_at, c.expiry_date
                      FROM hr_employee e
                      LEFT JOIN canteen_card c ON c.employee_id = e.id AND c.state IN ('active', 'lost')
                     WHERE e.{column} = %(identity)s AND e.active AND e.company_id = ANY(%(companies)s::int[])
                     LIMIT 1"""  # noqa: S608 - column is one of two constants
    return query, params


# Read after the wallet lock: the seq's earlier answer, a transaction number, the person, what
# the dedup window and the rules need, and last the account's columns. {person} is person_query's.
CHARGE_READ = """
    WITH person AS ({person})
    SELECT (SELECT response FROM canteen_transaction
             WHERE terminal_id = %(terminal)s AND seq = %(seq)s) AS previous,
           n.id AS tx_id, 'T' || to_char(now(), 'YYYYMMDD') || lpad(n.id::text, 8, '0') AS tx_name,
           p.employee_id, p.card_id, p.state, p.lost_at, p.expiry_date,
           h.name, h.employee_no,
           {dedup} AS recent,
           (SELECT json_build_array(r.allowed, COALESCE(r.count_limit, 0), COALESCE(r.amount_limit, 0)::text,
                                    COALESCE(r.discount_percent, 0), COALESCE(g.daily_amount_limit, 0)::text)
              FROM canteen_rule_group g
              LEFT JOIN canteen_consumption_rule r
                     ON r.rule_group_id = g.id AND r.meal_kind = %(meal)s::varchar
             WHERE g.id = h.rule_group_id LIMIT 1) AS rules,
           (SELECT json_build_array(COUNT(*) FILTER (WHERE x.meal_kind = %(meal)s),
                                    COALESCE(SUM(x.charged) FILTER (WHERE x.meal_kind = %(meal)s), 0)::text,
                                    COALESCE(SUM(x.charged), 0)::text)
              FROM canteen_transaction x
             WHERE h.rule_group_id IS NOT NULL AND x.employee_id = p.employee_id
               AND x.business_date = %(day)s::date AND x.status = 'approved' AND NOT x.deduplicated) AS spent,
           {prices} AS prices,
           a.*
      FROM nextval('canteen_transaction_id_seq') AS n(id)
      LEFT JOIN person p ON TRUE
      LEFT JOIN hr_employee h ON h.id = p.employee_id
      LEFT JOIN LATERAL ({account}) a ON TRUE
"""
# The person's last charge within the dedup window, on any terminal.
DEDUP_READ = """(SELECT json_build_array(d.id, d.name) FROM canteen_transaction d
                  WHERE d.employee_id = p.employee_id AND d.status = 'approved'
                    AND NOT d.deduplicated AND NOT d.offline AND d.business_date >= %(day)s::date - 1
                    AND d.create_date > (now() AT TIME ZONE 'UTC') - make_interval(secs => %(window)s::int)
                  ORDER BY d.id DESC LIMIT 1)"""
PRICES_READ = """(SELECT json_object_agg(m.code, m.price::text) FROM canteen_menu_item m
                   WHERE m.merchant_id = %(merchant)s AND m.active AND m.code = ANY(%(codes)s::varchar[]))"""


def read_for_charge(tx, terminal, identity, *, seq, local, meal, codes, offline):
    """Lock the person's wallets and read everything the decision needs: one round trip
    (with whatever the unit has pending, e.g. BEGIN and the nonce). Returns a dict."""
    person, params = person_query(terminal, *identity)
    with_dedup = not offline and terminal.dedup_window > 0
    read = CHARGE_READ.format(
        person=person,
        dedup=DEDUP_READ if with_dedup else "NULL::json",
        prices=PRICES_READ if codes else "NULL::json",
        account=ledger_core.ACCOUNT_QUERY.format(employees="p.employee_id"),
    )
    lock = f"WITH person AS ({person}) " + ledger_core.LOCK_WALLETS.format(  # noqa: S608 - our fragments
        employees="SELECT employee_id FROM person"
    )
    params.update(
        terminal=terminal.id,
        seq=seq,
        meal=meal,
        day=local.date(),
        window=terminal.dedup_window,
        merchant=terminal.merchant_id,
        codes=codes or [],
    )
    cursor = tx.execute((lock, params), (read, params))
    values, width = cursor.fetchone(), ledger_core.ACCOUNT_WIDTH
    names = [column.name for column in cursor.description[:-width]]
    return dict(zip(names, values[:-width], strict=True), account=values[-width:])


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


def local_moment(terminal, moment_utc):
    return pytz.utc.localize(moment_utc).astimezone(pytz.timezone(terminal.timezone))


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


def meal_amount(terminal, kind, amount, quantities, prices):
    """What the meal costs, by the terminal's mode."""
    if terminal.mode == "count":
        return ZERO
    if terminal.mode == "fixed":
        fixed = terminal.fixed_amounts.get(kind, terminal.fixed_amount)
        if fixed <= 0:
            raise BadRequest("this fixed-amount terminal has no amount for the meal")
        return fixed
    if quantities:
        prices = {code: Decimal(price) for code, price in (_json(prices) or {}).items()}
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
TRANSACTION_COLUMNS = (
    "id",
    "name",
    "terminal_id",
    "seq",
    "status",
    "reason",
    "offline",
    "deduplicated",
    "overdraft",
    "after_loss",
    "original_id",
    "identity_type",
    "identity_value",
    "occurred_at",
    "business_date",
    "meal_kind",
    "employee_id",
    "card_id",
    "company_id",
    "amount_requested",
    "charged",
    "discount",
    "response",
)
TRANSACTION_INSERT = (
    f"INSERT INTO canteen_transaction ({', '.join(TRANSACTION_COLUMNS)}, "  # noqa: S608 - constants
    "create_uid, write_uid, create_date, write_date) "
    f"VALUES ({', '.join(f'%({c})s' for c in TRANSACTION_COLUMNS)}, "
    "1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')"
)
SEQ_CONSTRAINT = "canteen_transaction_terminal_seq_uniq"


class Charge:
    """One request (online, or one offline record) on a unit: read, decide, write.

    Declines are answers too: they are recorded and replayed like approvals. Nothing is written
    before the decision, so a decline or a bad request leaves nothing to undo.
    """

    def __init__(self, tx, terminal, request, offline):
        self.tx, self.terminal, self.offline = tx, terminal, offline
        self.seq = parse_seq(request.get("seq"))
        self.identity = parse_identity(request.get("identity"))
        self.occurred = parse_time(request.get("occurred_at"))
        self.quantities = menu_quantities(request["items"]) if self._menu_items(request) else None
        self.amount = parse_amount(
            request.get("amount"), required=terminal.mode == "free" and not self.quantities
        )
        self.local = local_moment(terminal, self.occurred)
        self.meal = meal_kind(terminal, self.local)
        self.row = {}
        self.entries = None  # (query, params) of the ledger core, when money moves

    def _menu_items(self, request):
        return self.terminal.mode == "menu" and request.get("items") is not None

    def run(self):
        self.row = read_for_charge(
            self.tx,
            self.terminal,
            self.identity,
            seq=self.seq,
            local=self.local,
            meal=self.meal or None,
            codes=list(self.quantities or ()),
            offline=self.offline,
        )
        if self.row["previous"] is not None:
            self.tx.finish()
            return dict(_json(self.row["previous"]), replayed=True)
        values = {
            "id": self.row["tx_id"],
            "name": self.row["tx_name"],
            "terminal_id": self.terminal.id,
            "seq": self.seq,
            "offline": self.offline,
            "identity_type": self.identity[0],
            "identity_value": self.identity[1],
            "occurred_at": self.occurred,
            "business_date": self.local.date(),
            "amount_requested": self.amount,
            "reason": None,
            "deduplicated": False,
            "overdraft": False,
            "after_loss": False,
            "original_id": None,
            "meal_kind": self.meal or None,
            "employee_id": self.row["employee_id"],
            "card_id": self.row["card_id"],
            "company_id": None,
            "charged": None,
            "discount": None,
        }
        answer = {"seq": self.seq, "transaction_id": self.row["tx_name"], "replayed": False}
        try:
            answer.update(self._decide(values))
            values["status"] = "approved"
        except Decline as decline:
            answer.update(status="declined", reason=decline.reason, charged="0.00", discount="0.00")
            values.update(status="declined", reason=decline.reason)
        return self._write(values, answer)

    def _write(self, values, answer):
        """Record the transaction and its entries, with the unit's closing; a seq recorded
        meanwhile by a concurrent request makes this one a replay of it."""
        statements = [(TRANSACTION_INSERT, dict(values, response=json.dumps(answer)))]
        if self.entries:
            statements.append(self.entries)
        cursor = self.tx.cursor
        try:
            self.tx.finish(*statements)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name != SEQ_CONSTRAINT:
                raise
            self.tx.abort()
            cursor.execute(
                "SELECT response FROM canteen_transaction WHERE terminal_id = %s AND seq = %s",
                [self.terminal.id, self.seq],
            )
            return dict(_json(cursor.fetchone()[0]), replayed=True)
        return answer

    def _decide(self, values):
        """The approved answer; Decline otherwise. Fills the transaction values as it goes."""
        terminal, row, offline = self.terminal, self.row, self.offline
        if not terminal.merchant_id:
            raise Decline("not_allowed_here")
        if row["employee_id"] is None:
            raise Decline("unknown_identity")
        after_loss = False
        if offline:
            # Money already spent: a record of a card lost before it is accepted and flagged.
            after_loss = bool(
                row["state"] in ("lost", "cancelled", "replaced")
                and (not row["lost_at"] or row["lost_at"] <= self.occurred)
            )
            if not row["card_id"]:
                raise Decline("unknown_identity")
        else:
            check_card_state(row["card_id"], row["state"], row["expiry_date"], self.local.date())
        account = self._account()
        values["company_id"] = account.company_id
        if account.cardholder_state != "active" and not offline:
            raise Decline("card_cancelled")
        holder = {"name": row["name"], "employee_no": row["employee_no"]}
        if row["recent"]:
            original_id, original_name = _json(row["recent"])
            values.update(deduplicated=True, original_id=original_id, charged=ZERO, discount=ZERO)
            return self._approved(account, holder, ZERO, ZERO, None, deduplicated=original_name)
        if self.meal == "" and not offline:
            raise Decline("outside_meal_period")
        kind = self.meal or None
        charged, discount = self._price(kind)
        overdraft = False
        if charged > 0:
            try:
                taken, overdraft = ledger_core.split_charge(account, charged, allow_overdraft=offline)
            except LedgerError as error:
                raise Decline(error.code) from error
            movements = [ledger_core.Movement(k, -part, "charge") for k, part in taken.items() if part]
            query, params, _balances = ledger_core.entries_statement(
                account,
                movements,
                {
                    "merchant_id": terminal.merchant_id,
                    "terminal_id": terminal.id,
                    "card_id": row["card_id"],
                    "transaction_ref": row["tx_name"],
                    "date": self.occurred,
                },
                overdraft=overdraft,
            )
            self.entries = (query, params)
        values.update(charged=charged, discount=discount, overdraft=overdraft, after_loss=after_loss)
        return self._approved(
            account, holder, charged, discount, kind, overdraft=overdraft, after_loss=after_loss
        )

    def _account(self):
        account = ledger_core.account_from_row(self.row["account"])
        if len(account.wallets) < len(ledger_core.WALLET_KINDS):
            # A cardholder without wallets yet: create them, and lock again.
            account = ledger_core.lock_account(self.tx.cursor, account.employee_id)
        return account

    def _price(self, kind):
        """(charged, discount) of this request."""
        if self.offline:
            amount = (
                self.amount if self.amount is not None else meal_amount(self.terminal, kind, None, None, None)
            )
            return amount, ZERO
        price = meal_amount(self.terminal, kind, self.amount, self.quantities, self.row["prices"])
        if not kind:
            return price, ZERO
        return apply_rules(_json(self.row["rules"]), _json(self.row["spent"]), price)

    @staticmethod
    def _approved(
        account, holder, charged, discount, kind, *, deduplicated=None, overdraft=False, after_loss=False
    ):
        answer = {
            "status": "approved",
            "reason": None,
            "charged": money(charged),
            "discount": money(discount),
            "meal": kind,
            "balances": {k: money(v) for k, v in account.balances().items()},
            "cardholder": holder,
            "deduplicated": bool(deduplicated),
        }
        if deduplicated:
            answer["original_transaction_id"] = deduplicated
        else:
            answer.update(overdraft=overdraft, after_loss=after_loss)
        return answer


def charge(tx, terminal, request, *, offline=False):
    """Authorise and charge one request on the unit `tx`, finishing it; returns the answer."""
    return Charge(tx, terminal, request, offline).run()


# --------------------------------------------------------------------------------------------
# balance
# --------------------------------------------------------------------------------------------
BALANCE_READ = """
    WITH person AS ({person})
    SELECT p.card_id, p.state, p.expiry_date, h.name, h.employee_no,
           (SELECT json_object_agg(w.kind, w.balance::text)
              FROM canteen_wallet w WHERE w.employee_id = p.employee_id)
      FROM person p JOIN hr_employee h ON h.id = p.employee_id
"""


def balance(tx, terminal, identity):
    """The balance answer of an identity; None when unknown."""
    person, params = person_query(terminal, *parse_identity(identity))
    row = tx.execute((BALANCE_READ.format(person=person), params)).fetchone()
    if not row:
        return None
    card_id, state, expiry_date, name, employee_no, wallets = row
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
