"""The one path every wallet balance change takes, on a plain database cursor.

It runs inside the caller's transaction: the Odoo ledger service (`canteen.ledger`) calls it
with `env.cr`, and the bridge calls it with its own connections, so the ORM and the terminals
share the same locking, checks and arithmetic. It locks the person's wallet rows, checks the
card and the floor, appends immutable ledger entries and updates the balances; the caller
commits or rolls back.

Money is `Decimal` throughout and stored in `numeric` columns: no float ever holds a yuan.
"""

import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

WALLET_KINDS = ("cash", "subsidy")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# The largest amount one movement may carry: a typing error (or a hostile 1e30) is refused.
MAX_AMOUNT = Decimal("1000000.00")
# Entry kinds that are consumption, cleared with merchants instead of booked one by one.
CONSUMPTION_KINDS = ("charge", "correction")
ENTRY_KINDS = (
    "topup",
    "refund",
    "charge",
    "subsidy_grant",
    "subsidy_expiry",
    "correction",
    "card_cost",
    "transfer",
)
# Columns every entry gets from the core, in the order entries_statement sends them.
_POSTED_COLUMNS = (
    "wallet_id",
    "wallet_kind",
    "employee_id",
    "department_id",
    "company_id",
    "currency_id",
    "kind",
    "amount",
    "balance_after",
    "overdraft",
    "charge_count",
    "create_uid",
    "write_uid",
)
_CORE_COLUMNS = {*_POSTED_COLUMNS, "create_date", "write_date"}


class LedgerError(Exception):
    """A refused balance change; `code` is stable (the bridge answers it as a decline reason)."""

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params


def to_amount(value, *, allow_zero=False):
    """A positive amount in yuan (0 too, with allow_zero) with at most two decimals and at most
    MAX_AMOUNT, as Decimal; else LedgerError. The one parser of amounts: a float, text or
    Decimal that is not finite (NaN, inf), has more decimals or is out of range is refused."""
    if isinstance(value, bool):
        raise LedgerError("invalid_amount", amount=value)
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise LedgerError("invalid_amount", amount=value) from exc
    if (
        not amount.is_finite()
        or amount < 0
        or (amount == 0 and not allow_zero)
        or amount > MAX_AMOUNT
        or amount != amount.quantize(CENT)
    ):
        raise LedgerError("invalid_amount", amount=value)
    return amount.quantize(CENT)


@dataclass
class Account:
    """A cardholder's wallets, locked, with what the checks need."""

    employee_id: int
    company_id: int
    department_id: int
    currency_id: int
    cardholder_state: str
    floor: Decimal
    max_balance: Decimal
    use_cash: bool
    use_subsidy: bool
    cash_first: bool
    wallets: dict = field(default_factory=dict)  # kind -> [wallet_id, balance]
    subsidy_above_max: bool = False  # the card type exempts subsidy grants from max_balance

    def over_max(self, kind, new_balance):
        """Whether a credit bringing wallet `kind` to `new_balance` breaks the maximum balance."""
        if kind == "subsidy" and self.subsidy_above_max:
            return False
        return self.max_balance > 0 and new_balance > self.max_balance

    def balance(self, kind):
        return self.wallets[kind][1]

    def balances(self):
        return {kind: self.balance(kind) for kind in WALLET_KINDS}


@dataclass
class Movement:
    kind: str  # wallet kind
    amount: Decimal  # signed
    entry_kind: str


def ensure_wallets(cr, employee_ids, uid=1):
    """Create the missing cash and subsidy wallets of these cardholders."""
    cr.execute(
        """
        INSERT INTO canteen_wallet (employee_id, kind, company_id, currency_id, balance,
                                    create_uid, write_uid, create_date, write_date)
        SELECT e.id, k.kind, e.company_id, c.currency_id, 0,
               %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM hr_employee e
          JOIN res_company c ON c.id = e.company_id
         CROSS JOIN (VALUES ('cash'), ('subsidy')) AS k(kind)
         WHERE e.id = ANY(%s)
        ON CONFLICT (employee_id, kind) DO NOTHING
        """,
        [uid, uid, list(employee_ids)],
    )


# The account of the cardholders selected by `{employees}` (an SQL fragment: ids or a subquery).
# Amounts travel as text: Odoo's cursors turn numeric into float, the core never does.
ACCOUNT_QUERY = """
    SELECT e.id, e.company_id, e.department_id, c.currency_id, COALESCE(e.cardholder_state, 'active'),
           COALESCE(t.overdraft_floor, 0)::text, COALESCE(t.max_balance, 0)::text,
           COALESCE(t.use_cash, TRUE), COALESCE(t.use_subsidy, TRUE),
           COALESCE(c.canteen_spend_cash_first, FALSE),
           (SELECT json_agg(json_build_array(w.id, w.kind, w.balance::text))
              FROM canteen_wallet w WHERE w.employee_id = e.id) AS wallets,
           COALESCE(t.subsidy_above_max, FALSE)
      FROM hr_employee e
      JOIN res_company c ON c.id = e.company_id
      LEFT JOIN canteen_card_type t ON t.id = e.card_type_id
     WHERE e.id IN ({employees})
"""
ACCOUNT_WIDTH = 12  # columns of ACCOUNT_QUERY
# Wallet rows are always locked in id order, so single charges and batches never deadlock.
LOCK_WALLETS = "SELECT 1 FROM canteen_wallet WHERE employee_id IN ({employees}) ORDER BY id FOR UPDATE"


def locked_accounts_query(employees):
    """Lock the wallets, then read the accounts: two statements, one round trip. The read runs
    after the lock is granted, so it sees the balances the last holder of the lock committed."""
    return LOCK_WALLETS.format(employees=employees) + ";\n" + ACCOUNT_QUERY.format(employees=employees)


def account_from_row(row):
    """An Account from a row of ACCOUNT_QUERY (its first twelve columns)."""
    employee_id, company_id, department_id, currency_id, state, floor, max_balance, *flags = row[:10]
    wallets = row[10]
    if isinstance(wallets, str):
        wallets = json.loads(wallets)
    account = Account(
        employee_id,
        company_id,
        department_id,
        currency_id,
        state,
        Decimal(floor),
        Decimal(max_balance),
        *flags,
        subsidy_above_max=bool(row[11]),
    )
    account.wallets = {kind: [wallet_id, Decimal(balance)] for wallet_id, kind, balance in wallets or ()}
    return account


def lock_account(cr, employee_id, uid=1):
    """Lock the cardholder's wallet rows (FOR UPDATE) and read what the checks need."""
    for _attempt in range(2):
        cr.execute(locked_accounts_query("%s"), [employee_id, employee_id])
        row = cr.fetchone()
        if not row:
            raise LedgerError("unknown_identity")
        account = account_from_row(row)
        if len(account.wallets) == len(WALLET_KINDS):
            return account
        ensure_wallets(cr, [employee_id], uid)
    raise LedgerError("unknown_identity")


def check_card(cr, card_id, employee_id, on_date):
    """Refuse a card that is not active or not this person's; lock it against a loss report."""
    cr.execute(
        "SELECT employee_id, state, expiry_date FROM canteen_card WHERE id = %s FOR SHARE",
        [card_id],
    )
    row = cr.fetchone()
    if not row or row[0] != employee_id:
        raise LedgerError("unknown_identity")
    _owner, state, expiry_date = row
    if state == "lost":
        raise LedgerError("card_lost")
    if state in ("cancelled", "replaced"):
        raise LedgerError("card_cancelled")
    if state == "expired" or (expiry_date and on_date and expiry_date < on_date):
        raise LedgerError("card_expired")


def split_charge(account, amount, allow_overdraft=False):
    """Which wallet pays how much of a charge: subsidy first (or cash first), then cash overdraft.

    Returns {kind: amount taken} and whether the cash wallet goes below its floor.
    """
    order = ["cash", "subsidy"] if account.cash_first else ["subsidy", "cash"]
    usable = [k for k in order if (account.use_cash if k == "cash" else account.use_subsidy)]
    taken = dict.fromkeys(WALLET_KINDS, ZERO)
    remaining = amount
    for kind in usable:
        part = min(max(account.balance(kind) - taken[kind], ZERO), remaining)
        taken[kind] += part
        remaining -= part
    overdraft = False
    if remaining > 0:
        if not account.use_cash:
            if not allow_overdraft:
                raise LedgerError("insufficient_funds", missing=remaining)
            overdraft = True
            kind = usable[0] if usable else "cash"
            taken[kind] += remaining
            return taken, overdraft
        room = account.balance("cash") - taken["cash"] - account.floor
        if remaining > room and not allow_overdraft:
            raise LedgerError("insufficient_funds", missing=remaining - max(room, ZERO))
        overdraft = remaining > room
        taken["cash"] += remaining
    return taken, overdraft


def entries_statement(postings, *, uid=1):
    """The one statement that appends ledger entries and writes the new balances.

    `postings` is a list of (account, movements, values, overdraft): values are the extra
    columns of that account's entries (the same keys in every posting). The text depends only
    on those keys, so a caller may prepare it once; the bridge sends it for a whole batch of
    charges, with the transaction records and the COMMIT, in one round trip.

    Returns (query, params, balances_after): the query returns the entry ids in posting and
    movement order; balances_after[i][j] is the wallet balance after movement j of posting i.
    The accounts' balances move in memory too.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    postings = [(a, m, {"date": now, **(v or {})}, o) for a, m, v, o in postings]
    columns = tuple(postings[0][2])
    bad = [c for c in columns if c in _CORE_COLUMNS or c not in ENTRY_COLUMN_TYPES]
    if bad or any(tuple(values) != columns for _a, _m, values, _o in postings):
        raise ValueError(f"entries need the same extra columns, known and not set by the core: {bad}")
    rows, balances_after, new_balances = [], [], {}
    for account, movements, values, overdraft in postings:
        after = []
        # A charge paid from both wallets is two entries: the first carries its count, so a
        # sum of charge_count counts charges (meals) whatever the split.
        counted = False
        for movement in movements:
            count = int(movement.entry_kind == "charge" and not counted)
            counted = counted or bool(count)
            wallet = account.wallets[movement.kind]
            wallet[1] += movement.amount
            after.append(wallet[1])
            new_balances[wallet[0]] = wallet[1]
            rows.append(
                (
                    wallet[0],
                    movement.kind,
                    account.employee_id,
                    account.department_id,
                    account.company_id,
                    account.currency_id,
                    movement.entry_kind,
                    movement.amount,
                    wallet[1],
                    overdraft and movement.amount < 0,
                    count,
                    uid,
                    uid,
                    *(values[c] for c in columns),
                )
            )
        balances_after.append(after)
    params = (
        [list(column) for column in zip(*rows, strict=True)]
        if rows
        else [[]] * (len(_POSTED_COLUMNS) + len(columns))
    )
    params += [uid, list(new_balances), list(new_balances.values())]
    return entries_query(columns), params, balances_after


# SQL types of the entry columns a posting may fill: the arrays of entries_statement are cast
# to them, and a column missing here is refused.
ENTRY_COLUMN_TYPES = {
    "wallet_id": "int",
    "wallet_kind": "varchar",
    "employee_id": "int",
    "department_id": "int",
    "company_id": "int",
    "currency_id": "int",
    "kind": "varchar",
    "amount": "numeric",
    "balance_after": "numeric",
    "overdraft": "bool",
    "charge_count": "int",
    "create_uid": "int",
    "write_uid": "int",
    "date": "timestamp",
    "card_id": "int",
    "merchant_id": "int",
    "terminal_id": "int",
    "operation_id": "int",
    "related_entry_id": "int",
    "transaction_ref": "varchar",
    "terminal_ref": "varchar",
    "note": "varchar",
    "business_date": "date",
    "meal_kind": "varchar",
}
# The local day of an entry when its caller does not give it (the bridge does, from the
# terminal's clock): the date in its company's time zone, as the bridge reckons it.
BUSINESS_DATE_SQL = """
    (u.date AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(
        (SELECT COALESCE(rc.tz, p.tz) FROM res_company c
           JOIN res_partner p ON p.id = c.partner_id
           LEFT JOIN resource_calendar rc ON rc.id = c.resource_calendar_id
          WHERE c.id = u.company_id), 'Asia/Shanghai'))::date"""
# A correction belongs to the meal of the charge it corrects.
MEAL_KIND_SQL = "(SELECT r.meal_kind FROM canteen_ledger_entry r WHERE r.id = u.related_entry_id)"


@functools.lru_cache(maxsize=64)
def entries_query(columns):
    """The text of entries_statement's query for one set of extra columns (built once: the
    bridge sends it for every batch of charges)."""
    names = (*_POSTED_COLUMNS, *columns)
    arrays = ", ".join(f"%s::{ENTRY_COLUMN_TYPES[name]}[]" for name in names)
    derived = {}
    if "business_date" not in columns:
        derived["business_date"] = BUSINESS_DATE_SQL
    if "meal_kind" not in columns and "related_entry_id" in columns:
        derived["meal_kind"] = MEAL_KIND_SQL
    targets = ", ".join((*names, *derived))
    selected = ", ".join((*(f"u.{name}" for name in names), *derived.values()))
    return f"""
        WITH entries AS (
            INSERT INTO canteen_ledger_entry ({targets}, create_date, write_date)
            SELECT {selected}, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
              FROM unnest({arrays}) AS u({", ".join(names)})
            RETURNING id),
        balances AS (
            UPDATE canteen_wallet w
               SET balance = v.balance, write_uid = %s, write_date = now() AT TIME ZONE 'UTC'
              FROM unnest(%s::int[], %s::numeric[]) AS v(id, balance)
             WHERE w.id = v.id)
        SELECT id FROM entries ORDER BY id
    """  # noqa: S608 - column names come from ENTRY_COLUMN_TYPES


def append_entries(cr, account, movements, values=None, *, uid=1, overdraft=False):
    """Append one entry per movement, update the balances; return [(entry_id, kind, balance_after)]."""
    if not movements:
        return []
    query, params, balances_after = entries_statement([(account, movements, values, overdraft)], uid=uid)
    cr.execute(query, params)
    entry_ids = [row[0] for row in cr.fetchall()]
    return list(zip(entry_ids, [m.kind for m in movements], balances_after[0], strict=True))


def charge(cr, employee_id, amount, *, card_id=None, on_date=None, allow_overdraft=False, values=None, uid=1):
    """Charge a cardholder: lock, check card and floor, split subsidy/cash, append entries.

    Returns (entries, balances, overdraft). With allow_overdraft (offline records: money already
    spent) the floor is not enforced and the entries are flagged instead.
    """
    amount = to_amount(amount)
    account = _lock_for_card(cr, employee_id, card_id, on_date, uid)
    if account.cardholder_state != "active":
        raise LedgerError("card_cancelled")
    taken, overdraft = split_charge(account, amount, allow_overdraft)
    movements = [Movement(kind, -part, "charge") for kind, part in taken.items() if part]
    entries = append_entries(
        cr, account, movements, dict(values or {}, card_id=card_id), uid=uid, overdraft=overdraft
    )
    return entries, account.balances(), overdraft


def credit(
    cr,
    employee_id,
    wallet_kind,
    amount,
    entry_kind,
    *,
    card_id=None,
    on_date=None,
    values=None,
    uid=1,
    enforce_max=True,
):
    """Add money to one wallet (top-up, subsidy grant, transfer in); with a card, it must be active."""
    amount = to_amount(amount)
    account = _lock_for_card(cr, employee_id, card_id, on_date, uid)
    _check_wallet_allowed(account, wallet_kind)
    new_balance = account.balance(wallet_kind) + amount
    if enforce_max and account.over_max(wallet_kind, new_balance):
        raise LedgerError("max_balance", maximum=account.max_balance, balance=new_balance)
    entries = append_entries(cr, account, [Movement(wallet_kind, amount, entry_kind)], values, uid=uid)
    return entries, account.balances()


def debit(
    cr,
    employee_id,
    wallet_kind,
    amount,
    entry_kind,
    *,
    card_id=None,
    on_date=None,
    values=None,
    uid=1,
    floor=ZERO,
):
    """Take money out of one wallet (refund, subsidy expiry, card cost, transfer out).

    The wallet may not go below `floor` (0: a refund never creates a debt); with a card, it must
    be active.
    """
    amount = to_amount(amount)
    account = _lock_for_card(cr, employee_id, card_id, on_date, uid)
    if account.balance(wallet_kind) - amount < floor:
        raise LedgerError(
            "insufficient_funds", missing=amount - max(account.balance(wallet_kind) - floor, ZERO)
        )
    entries = append_entries(cr, account, [Movement(wallet_kind, -amount, entry_kind)], values, uid=uid)
    return entries, account.balances()


def _lock_for_card(cr, employee_id, card_id, on_date, uid):
    """The locked account of a single change; with a card, the card must be active and theirs."""
    if card_id:
        check_card(cr, card_id, employee_id, on_date)
    return lock_account(cr, employee_id, uid)


def _check_wallet_allowed(account, wallet_kind):
    if wallet_kind not in WALLET_KINDS:
        raise LedgerError("wallet_not_allowed", wallet=wallet_kind)
    allowed = account.use_cash if wallet_kind == "cash" else account.use_subsidy
    if not allowed:
        raise LedgerError("wallet_not_allowed", wallet=wallet_kind)


@dataclass
class BatchMovement:
    """One single-wallet movement of a batch: `amount` signed (positive adds to the wallet)."""

    employee_id: int
    wallet_kind: str
    amount: Decimal
    entry_kind: str
    values: dict = field(default_factory=dict)  # extra columns, the same keys for every movement
    card_id: int = None  # when set, the card must be the person's and active
    floor: Decimal = ZERO  # a debit may not take the wallet below it


def post_batch(cr, movements, *, uid=1, on_date=None, enforce_max=True):
    """Many credits and debits in one go (imports, batch desk work), all or nothing.

    The same checks as credit()/debit(), but one lock of every wallet involved (in id order, as
    lock_account does, so batches and single charges never deadlock), then one entries_statement
    for all the entries and balances. Returns (entries, before, after): entries as
    [(entry_id, employee_id, wallet_kind, balance_after)] in movement order, balances as
    {(employee_id, kind): Decimal}. A refusal raises LedgerError whose params carry `index`,
    the position of the refused movement, and `employee_id`.
    """
    if not movements:
        return [], {}, {}
    now = datetime.now(UTC).replace(tzinfo=None)
    movements = [
        BatchMovement(
            m.employee_id,
            m.wallet_kind,
            _signed_amount(m.amount, index),
            m.entry_kind,
            {"date": now, **m.values},
            m.card_id,
            m.floor,
        )
        for index, m in enumerate(movements)
    ]
    employee_ids = sorted({m.employee_id for m in movements})
    ensure_wallets(cr, employee_ids, uid)
    _check_batch_cards(cr, movements, on_date)
    accounts = _lock_accounts(cr, employee_ids)
    before = _balances(accounts)
    postings = []
    for index, movement in enumerate(movements):
        account = accounts.get(movement.employee_id)
        if account is None or len(account.wallets) != len(WALLET_KINDS):
            raise LedgerError("unknown_identity", index=index, employee_id=movement.employee_id)
        if movement.wallet_kind not in WALLET_KINDS:
            raise LedgerError(
                "wallet_not_allowed",
                wallet=movement.wallet_kind,
                index=index,
                employee_id=movement.employee_id,
            )
        postings.append(
            (
                account,
                [Movement(movement.wallet_kind, movement.amount, movement.entry_kind)],
                movement.values,
                False,
            )
        )
    # The statement moves the balances in memory; nothing reaches the database until every
    # movement has passed its checks against the balance just before it.
    query, params, balances_after = entries_statement(postings, uid=uid)
    for index, (movement, (after,)) in enumerate(zip(movements, balances_after, strict=True)):
        account = accounts[movement.employee_id]
        _check_batch_movement(account, movement, after - movement.amount, index, enforce_max)
    cr.execute(query, params)
    entry_ids = [row[0] for row in cr.fetchall()]
    entries = [
        (entry_id, movement.employee_id, movement.wallet_kind, after)
        for entry_id, movement, (after,) in zip(entry_ids, movements, balances_after, strict=True)
    ]
    return entries, before, _balances(accounts)


def _balances(accounts):
    return {
        (emp, kind): account.balance(kind) for emp, account in accounts.items() for kind in account.wallets
    }


def _signed_amount(amount, index):
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        magnitude = to_amount(abs(value))
    except (LedgerError, InvalidOperation, ValueError) as exc:
        raise LedgerError("invalid_amount", amount=amount, index=index) from exc
    return magnitude if value > 0 else -magnitude


def _check_batch_cards(cr, movements, on_date):
    card_ids = sorted({m.card_id for m in movements if m.card_id})
    if not card_ids:
        return
    cr.execute(
        "SELECT id, employee_id, state, expiry_date FROM canteen_card "
        "WHERE id = ANY(%s) ORDER BY id FOR SHARE",
        [card_ids],
    )
    found = {row[0]: row[1:] for row in cr.fetchall()}
    for index, movement in enumerate(movements):
        if not movement.card_id:
            continue
        owner, state, expiry_date = found.get(movement.card_id, (None, None, None))
        code = None
        if owner != movement.employee_id:
            code = "unknown_identity"
        elif state == "lost":
            code = "card_lost"
        elif state in ("cancelled", "replaced"):
            code = "card_cancelled"
        elif state == "expired" or (expiry_date and on_date and expiry_date < on_date):
            code = "card_expired"
        if code:
            raise LedgerError(code, index=index, employee_id=movement.employee_id)


def _lock_accounts(cr, employee_ids):
    """Lock the wallets of all these cardholders in id order; {employee_id: Account}."""
    ids = list(employee_ids)
    cr.execute(locked_accounts_query("SELECT unnest(%s::int[])"), [ids, ids])
    return {row[0]: account_from_row(row) for row in cr.fetchall()}


def _check_batch_movement(account, movement, balance, index, enforce_max):
    """Refuse a movement of a batch, given the wallet's balance just before it."""
    kind, amount = movement.wallet_kind, movement.amount
    where = {"index": index, "employee_id": account.employee_id}
    if amount < 0:
        if balance + amount < movement.floor:
            missing = -amount - max(balance - movement.floor, ZERO)
            raise LedgerError("insufficient_funds", missing=missing, **where)
        return
    if not (account.use_cash if kind == "cash" else account.use_subsidy):
        raise LedgerError("wallet_not_allowed", wallet=kind, **where)
    if enforce_max and account.over_max(kind, balance + amount):
        raise LedgerError("max_balance", maximum=account.max_balance, balance=balance + amount, **where)
