"""Authorise and charge a terminal request on a plain cursor: identity, card, dedup window,
meal period, consumption rules, then the ledger core. Used by the bridge (its own connections)
and by the backend cashier (Odoo's cursor), so both apply the same rules the same way.

Everything happens in the caller's transaction; the caller commits, then answers.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

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
    id: int
    serial: str
    secret: str
    enabled: bool
    company_id: int
    company_path: str
    merchant_id: int | None
    mode: str
    fixed_amount: Decimal
    timezone: str
    dedup_window: int


TERMINAL_QUERY = """
    SELECT t.id, t.serial, t.secret, t.enabled AND t.active, t.company_id, c.parent_path, t.merchant_id,
           t.mode,
           COALESCE(t.fixed_amount, 0)::text, COALESCE(rc.tz, p.tz, 'Asia/Shanghai'),
           COALESCE(c.canteen_dedup_window, 60)
      FROM canteen_terminal t
      JOIN res_company c ON c.id = t.company_id
      JOIN res_partner p ON p.id = c.partner_id
      LEFT JOIN resource_calendar rc ON rc.id = c.resource_calendar_id
"""


def load_terminal(cr, serial):
    cr.execute(TERMINAL_QUERY + " WHERE t.serial = %s", [serial])
    row = cr.fetchone()
    if not row:
        return None
    *head, fixed_amount, timezone, dedup_window = row
    return Terminal(*head, Decimal(fixed_amount), timezone, dedup_window)


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
# identity
# --------------------------------------------------------------------------------------------
def resolve_identity(cr, terminal, identity_type, value):
    """(employee_id, card_id, card_state, lost_at, expiry_date, name, employee_no) of the person, among the
    cardholders of the terminal's company and its branches; Decline when unknown."""
    subtree = "SELECT id FROM res_company WHERE parent_path LIKE %s"
    if identity_type in ("card", "qr"):
        # A UID may be reused by a dead card: prefer the live one, then the newest.
        cr.execute(
            f"""SELECT c.employee_id, c.id, c.state, c.lost_at, c.expiry_date, e.name, e.employee_no
                  FROM canteen_card c
                  JOIN hr_employee e ON e.id = c.employee_id
                 WHERE c.uid = %s AND c.company_id IN ({subtree})
                   AND (%s OR c.kind = 'virtual')
                 ORDER BY c.state IN ('active', 'lost') DESC, c.id DESC LIMIT 1""",  # noqa: S608
            [value.upper(), terminal.company_path + "%", identity_type == "card"],
        )
    else:
        column = "employee_no" if identity_type == "employee" else "canteen_face_id"
        cr.execute(
            f"""SELECT e.id, c.id, c.state, c.lost_at, c.expiry_date, e.name, e.employee_no
                  FROM hr_employee e
                  LEFT JOIN canteen_card c ON c.employee_id = e.id AND c.state IN ('active', 'lost')
                 WHERE e.{column} = %s AND e.active AND e.company_id IN ({subtree})
                 LIMIT 1""",  # noqa: S608 - column is one of two constants
            [value, terminal.company_path + "%"],
        )
    row = cr.fetchone()
    if not row:
        raise Decline("unknown_identity")
    return row


def check_card_state(card_id, state, expiry_date, on_date):
    if not card_id:
        raise Decline("card_cancelled")
    if state in STATE_REASONS:
        raise Decline(STATE_REASONS[state])
    if state == "expired" or (expiry_date and expiry_date < on_date):
        raise Decline("card_expired")


# --------------------------------------------------------------------------------------------
# meal periods and rules
# --------------------------------------------------------------------------------------------
def local_moment(terminal, moment_utc):
    return pytz.utc.localize(moment_utc).astimezone(pytz.timezone(terminal.timezone))


def meal_kind(cr, terminal, local):
    """The meal the local time falls in at the terminal's merchant; None when the merchant has
    no meal periods (a shop); Decline outside every window of a merchant that has some."""
    cr.execute(
        "SELECT kind, hour_from, hour_to FROM canteen_meal_period WHERE merchant_id = %s",
        [terminal.merchant_id],
    )
    periods = cr.fetchall()
    if not periods:
        return None
    hour = local.hour + local.minute / 60 + local.second / 3600
    for kind, hour_from, hour_to in periods:
        if hour_from <= hour < hour_to:
            return kind
    raise Decline("outside_meal_period")


def meal_amount(cr, terminal, kind, amount, items):
    """What the meal costs, by the terminal's mode."""
    if terminal.mode == "count":
        return ZERO
    if terminal.mode == "fixed":
        cr.execute(
            "SELECT amount::text FROM canteen_terminal_fixed_amount "
            "WHERE terminal_id = %s AND meal_kind = %s",
            [terminal.id, kind],
        )
        row = cr.fetchone()
        fixed = Decimal(row[0]) if row else terminal.fixed_amount
        if fixed <= 0:
            raise BadRequest("this fixed-amount terminal has no amount for the meal")
        return fixed
    if terminal.mode == "menu" and items:
        return menu_total(cr, terminal, items)
    if amount is None:
        raise BadRequest("amount (or items in menu mode) is required")
    return amount


def menu_total(cr, terminal, items):
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
    cr.execute(
        "SELECT code, price::text FROM canteen_menu_item "
        "WHERE merchant_id = %s AND active AND code = ANY(%s)",
        [terminal.merchant_id, list(quantities)],
    )
    prices = {code: Decimal(price) for code, price in cr.fetchall()}
    unknown = set(quantities) - set(prices)
    if unknown:
        raise BadRequest(f"unknown products: {', '.join(sorted(unknown))}")
    return sum((prices[code] * qty for code, qty in quantities.items()), ZERO)


def apply_rules(cr, employee_id, kind, business_date, amount):
    """(charged, discount) after the rule group's discount; Decline past a limit."""
    cr.execute(
        """SELECT r.allowed, COALESCE(r.count_limit, 0), COALESCE(r.amount_limit, 0)::text,
                  COALESCE(r.discount_percent, 0), COALESCE(g.daily_amount_limit, 0)::text
             FROM hr_employee e
             JOIN canteen_rule_group g ON g.id = e.rule_group_id
             LEFT JOIN canteen_consumption_rule r ON r.rule_group_id = g.id AND r.meal_kind = %s
            WHERE e.id = %s""",
        [kind, employee_id],
    )
    row = cr.fetchone()
    if not row:
        return amount, ZERO
    allowed, count_limit, meal_limit, discount_percent, daily_limit = row
    meal_limit, daily_limit = Decimal(meal_limit), Decimal(daily_limit)
    if allowed is False:
        raise Decline("outside_meal_period")
    charged = (amount * (100 - Decimal(str(discount_percent))) / 100).quantize(CENT, ROUND_HALF_UP)
    if count_limit or meal_limit or daily_limit:
        cr.execute(
            """SELECT COUNT(*) FILTER (WHERE meal_kind = %s),
                      COALESCE(SUM(charged) FILTER (WHERE meal_kind = %s), 0)::text,
                      COALESCE(SUM(charged), 0)::text
                 FROM canteen_transaction
                WHERE employee_id = %s AND business_date = %s AND status = 'approved' AND NOT deduplicated""",
            [kind, kind, employee_id, business_date],
        )
        meals, meal_spent, day_spent = cr.fetchone()
        if count_limit and meals >= count_limit:
            raise Decline("count_limit")
        if meal_limit and Decimal(meal_spent) + charged > meal_limit:
            raise Decline("amount_limit")
        if daily_limit and Decimal(day_spent) + charged > daily_limit:
            raise Decline("daily_limit")
    return charged, amount - charged


def recent_charge(cr, employee_id, window_seconds):
    """The person's last charged transaction within the dedup window, if any."""
    if window_seconds <= 0:
        return None
    cr.execute(
        """SELECT id, name FROM canteen_transaction
            WHERE employee_id = %s AND status = 'approved' AND NOT deduplicated AND NOT offline
              AND create_date > (now() AT TIME ZONE 'UTC') - make_interval(secs => %s)
            ORDER BY id DESC LIMIT 1""",
        [employee_id, window_seconds],
    )
    return cr.fetchone()


# --------------------------------------------------------------------------------------------
# transactions
# --------------------------------------------------------------------------------------------
def claim_seq(cr, terminal, seq, offline):
    """Insert the transaction row of (terminal, seq), or return None when it exists already.

    A concurrent request with the same seq waits on the unique index until this transaction
    ends, then finds the row: the idempotency key holds across bridge processes.
    """
    cr.execute(
        """WITH n AS (SELECT nextval('canteen_transaction_id_seq') AS id)
           INSERT INTO canteen_transaction (id, name, terminal_id, seq, status, offline, deduplicated,
                                            overdraft, after_loss,
                                            create_uid, write_uid, create_date, write_date)
           SELECT n.id, 'T' || to_char(now(), 'YYYYMMDD') || lpad(n.id::text, 8, '0'), %s, %s, 'declined', %s,
                  FALSE, FALSE, FALSE, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
             FROM n
           ON CONFLICT (terminal_id, seq) DO NOTHING
           RETURNING id, name""",
        [terminal.id, seq, offline],
    )
    return cr.fetchone()


def stored_response(cr, terminal, seq):
    cr.execute(
        "SELECT response FROM canteen_transaction WHERE terminal_id = %s AND seq = %s", [terminal.id, seq]
    )
    row = cr.fetchone()
    response = row[0] if row else None
    return json.loads(response) if isinstance(response, str) else response


def save_transaction(cr, tx_id, values, response):
    values = dict(values, response=json.dumps(response))
    columns = list(values)
    assignments = ", ".join(f"{column} = %s" for column in columns)
    cr.execute(
        f"UPDATE canteen_transaction SET {assignments} WHERE id = %s",  # noqa: S608 - our own column names
        [*values.values(), tx_id],
    )


def money(value):
    return f"{(value or ZERO).quantize(CENT)}"


def charge(cr, terminal, request, *, offline=False):
    """Authorise and charge one request (online, or one offline record); returns the answer.

    Declines are answers too: they are recorded and replayed like approvals.
    """
    seq = parse_seq(request.get("seq"))
    identity_type, identity_value = parse_identity(request.get("identity"))
    occurred = parse_time(request.get("occurred_at"))
    amount = parse_amount(
        request.get("amount"), required=terminal.mode == "free" and not request.get("items")
    )
    claimed = claim_seq(cr, terminal, seq, offline)
    if not claimed:
        previous = stored_response(cr, terminal, seq)
        return dict(previous or {}, replayed=True)
    tx_id, tx_name = claimed
    local = local_moment(terminal, occurred)
    values = {
        "identity_type": identity_type,
        "identity_value": identity_value,
        "occurred_at": occurred,
        "business_date": local.date(),
        "amount_requested": amount,
    }
    answer = {"seq": seq, "transaction_id": tx_name, "replayed": False}
    try:
        # Every decline is raised before anything is written, so nothing needs undoing.
        result = _authorise_and_charge(
            cr,
            terminal,
            request,
            (identity_type, identity_value),
            amount=amount,
            local=local,
            tx_name=tx_name,
            offline=offline,
            values=values,
        )
        answer.update(result)
        values.update(status="approved", reason=None)
    except Decline as decline:
        answer.update(status="declined", reason=decline.reason, charged="0.00", discount="0.00")
        values.update(status="declined", reason=decline.reason)
    save_transaction(cr, tx_id, values, answer)
    return answer


def _authorise_and_charge(cr, terminal, request, identity, *, amount, local, tx_name, offline, values):
    if not terminal.merchant_id:
        raise Decline("not_allowed_here")
    employee_id, card_id, state, lost_at, expiry_date, name, employee_no = resolve_identity(
        cr, terminal, *identity
    )
    values.update(employee_id=employee_id, card_id=card_id)
    after_loss = False
    if offline:
        # Money already spent: a record of a card lost before it is accepted and flagged.
        after_loss = bool(
            state in ("lost", "cancelled", "replaced") and (not lost_at or lost_at <= values["occurred_at"])
        )
        if not card_id:
            raise Decline("unknown_identity")
    else:
        check_card_state(card_id, state, expiry_date, local.date())
    account = ledger_core.lock_account(cr, employee_id)
    values["company_id"] = account.company_id
    if account.cardholder_state != "active" and not offline:
        raise Decline("card_cancelled")
    holder = {"name": name, "employee_no": employee_no}
    if not offline:
        original = recent_charge(cr, employee_id, terminal.dedup_window)
        if original:
            values.update(deduplicated=True, original_id=original[0], charged=ZERO, discount=ZERO)
            return {
                "status": "approved",
                "reason": None,
                "charged": "0.00",
                "discount": "0.00",
                "meal": None,
                "balances": {k: money(v) for k, v in account.balances().items()},
                "cardholder": holder,
                "deduplicated": True,
                "original_transaction_id": original[1],
            }
    kind = meal_kind(cr, terminal, local) if not offline else _meal_kind_or_none(cr, terminal, local)
    values["meal_kind"] = kind
    if offline:
        charged, discount = (
            (amount if amount is not None else meal_amount(cr, terminal, kind, None, None)),
            ZERO,
        )
    else:
        price = meal_amount(cr, terminal, kind, amount, request.get("items"))
        charged, discount = apply_rules(cr, employee_id, kind, local.date(), price) if kind else (price, ZERO)
    overdraft = False
    if charged > 0:
        try:
            taken, overdraft = ledger_core.split_charge(account, charged, allow_overdraft=offline)
        except LedgerError as error:
            raise Decline(error.code) from error
        movements = [ledger_core.Movement(k, -part, "charge") for k, part in taken.items() if part]
        ledger_core.append_entries(
            cr,
            account,
            movements,
            {
                "merchant_id": terminal.merchant_id,
                "terminal_id": terminal.id,
                "card_id": card_id,
                "transaction_ref": tx_name,
                "date": values["occurred_at"],
            },
            overdraft=overdraft,
        )
    values.update(charged=charged, discount=discount, overdraft=overdraft, after_loss=after_loss)
    return {
        "status": "approved",
        "reason": None,
        "charged": money(charged),
        "discount": money(discount),
        "meal": kind,
        "balances": {k: money(v) for k, v in account.balances().items()},
        "cardholder": holder,
        "deduplicated": False,
        "overdraft": overdraft,
        "after_loss": after_loss,
    }


def _meal_kind_or_none(cr, terminal, local):
    try:
        return meal_kind(cr, terminal, local)
    except Decline:
        return None


def balance(cr, terminal, identity):
    identity_type, value = parse_identity(identity)
    try:
        employee_id, card_id, state, _lost_at, expiry_date, name, employee_no = resolve_identity(
            cr, terminal, identity_type, value
        )
    except Decline:
        return None
    cr.execute("SELECT kind, balance::text FROM canteen_wallet WHERE employee_id = %s", [employee_id])
    balances = dict.fromkeys(ledger_core.WALLET_KINDS, "0.00")
    balances.update({kind: money(Decimal(amount)) for kind, amount in cr.fetchall()})
    card_status = state if card_id else "none"
    today = local_moment(terminal, datetime.now(UTC).replace(tzinfo=None)).date()
    if state == "active" and expiry_date and expiry_date < today:
        card_status = "expired"
    return {
        "cardholder": {"name": name, "employee_no": employee_no},
        "card_status": card_status,
        "balances": balances,
    }
