"""The long-poll stream of a terminal: list changes of the companies it serves and its own commands
after its cursor, or a snapshot of the whole current list, in pages (see delivery_sql.py for
why positions are safe against transactions that commit out of order).

Used by the bridge on its own connections and by Odoo's tests on Odoo's cursor, through a
`sql_unit.Unit` (or anything with `execute((query, params), ...)` returning a cursor).
"""

import json

from . import delivery_sql, face_delivery

CHANGES_PER_ANSWER = 500
SNAPSHOT_PAGE = 2000
# What a card's state puts on the terminal's lists in a snapshot.
SNAPSHOT_ENTRIES = {
    "active": ("whitelist.add",),
    "lost": ("whitelist.add", "blacklist.add"),
    "replaced": ("blacklist.add",),
    "cancelled": ("blacklist.add",),
    "expired": ("blacklist.add",),
}


def _payload(value):
    return json.loads(value) if isinstance(value, str) else value


def take(tx, terminal_id, company_path, cursor):
    """The next answer of a terminal polling from `cursor`: {"cursor", "commands"[, "snapshot"]}.
    The cards are those of the companies the terminal serves (tools/served_sql.py, read from the
    terminal itself; `company_path`, its company's, is the callers' and no longer needed)."""
    top, purged, last_given, base, after, reset, received = tx.execute(
        (delivery_sql.STATE, [terminal_id])
    ).fetchone()
    if cursor and cursor != received:
        tx.execute((delivery_sql.POLLED, [cursor, terminal_id]))
    snapshot_running = bool(base) and bool(after) and cursor == base
    if reset or cursor == 0 or cursor < purged or cursor > last_given or snapshot_running:
        resume = snapshot_running and not reset
        return _snapshot_page(tx, terminal_id, top, base=base if resume else None, after=after, reset=reset)
    rows = tx.execute(
        (delivery_sql.CHANGES, {"cursor": cursor, "terminal": terminal_id, "limit": CHANGES_PER_ANSWER})
    ).fetchall()
    commands = [
        {"id": position, "type": kind, "payload": _payload(payload)} for position, kind, payload in rows
    ]
    face_delivery.fill(tx, commands)
    return {"cursor": rows[-1][0] if rows else cursor, "commands": commands}


def _snapshot_page(tx, terminal_id, top, *, base, after, reset):
    """One page of the terminal's whole list. A new snapshot (base None) starts at the highest
    position visible now and with a `list.reset`; the last page adds the terminal's own
    commands that position covers and that are not done; then the stream goes on after it."""
    commands = []
    if base is None:
        base, after = top, 0
        commands.append({"id": base, "type": "list.reset", "payload": {}})
    cards = tx.execute(
        (delivery_sql.SNAPSHOT_PAGE, {"after": after, "terminal": terminal_id, "limit": SNAPSHOT_PAGE})
    ).fetchall()
    for _card_id, uid, state in cards:
        for kind in SNAPSHOT_ENTRIES.get(state, ()):
            commands.append({"id": base, "type": kind, "payload": {"uid": uid, "reason": "snapshot"}})
    more = len(cards) == SNAPSHOT_PAGE
    if more:
        tx.execute((delivery_sql.SNAPSHOT_PROGRESS, [base, cards[-1][0], bool(reset), terminal_id]))
    else:
        pending = tx.execute((delivery_sql.PENDING_COMMANDS, [terminal_id, base])).fetchall()
        commands += face_delivery.fill(
            tx,
            [
                {"id": position, "type": kind, "payload": _payload(payload)}
                for position, kind, payload in sorted(pending, key=lambda row: row[0])
            ],
        )
        tx.execute((delivery_sql.SNAPSHOT_PROGRESS, [None, None, bool(reset), terminal_id]))
    return {"cursor": base, "commands": commands, "snapshot": {"more": more}}


def ack(tx, terminal_id, results):
    """Record a terminal's acknowledgements: its own commands done or failed, failures logged
    (a list change is shared: only the failure and the terminal's last ack are kept)."""
    for result in results:
        error = None if result["ok"] else str(result.get("error") or "failed")[:200]
        state = "done" if result["ok"] else "failed"
        tx.execute((delivery_sql.ACK_COMMAND, [state, error, result["id"], terminal_id]))
        if error:
            tx.execute(
                (
                    delivery_sql.RECORD_FAILURE,
                    [terminal_id, terminal_id, result["id"], f"#{result['id']}: {error}"],
                )
            )
    if results:
        tx.execute((delivery_sql.ACKED, [max(result["id"] for result in results), terminal_id]))
    return {"acknowledged": len(results)}
