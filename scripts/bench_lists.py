#!/usr/bin/env python3
"""Benchmark of black/white list delivery at the scale of a campus, with PostgreSQL's durable
defaults:

1. a company tree (a headquarters and 4 branches) with 150,000 cards: the people and cards are
   bulk-inserted in SQL, then their 150,000 whitelist changes in one transaction, as a big
   import would make them; prints the time to store the lists (insert + the commit that numbers
   them) and the rows stored (list changes and terminal commands: ~ cards + changes, not x
   terminals);
2. 200 terminals, half at the headquarters and half at the last branch; a new terminal at the
   headquarters downloads its whole list (150,000 cards, a snapshot in pages) from the bridge:
   prints the time and the entries;
3. the 200 terminals hold long polls; one card of the last branch (served by all of them) is
   reported lost through the ORM (the real desk path) and committed: prints the time until
   every terminal has received the blacklist entry.

    python3 scripts/bench_lists.py [--cards 150000] [--terminals 200]
"""

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

sys.path.insert(0, str(devstack.ROOT / "tests"))
from bridge_harness import BridgeProcess, load_simulator  # the e2e tests' bridge runner

DBNAME = "canteen_bench_lists"
BRANCHES = 4


def odoo_env(db):
    return load_simulator().odoo_env(DBNAME, devstack.db_options(db))


def companies(env):
    hq = env.ref("base.main_company")
    branches = env["res.company"].create(
        [{"name": f"Branch {n}", "parent_id": hq.id} for n in range(BRANCHES)]
    )
    env.cr.commit()
    return hq, branches


def bulk_cards(env, company_ids, count):
    """People and their cards, in SQL (an ORM create of 150,000 people takes many minutes)."""
    env.cr.execute(
        """
        WITH n AS (SELECT g, (%(companies)s::int[])[1 + g %% array_length(%(companies)s::int[], 1)] AS company
                     FROM generate_series(1, %(count)s) AS g),
        r AS (
            INSERT INTO resource_resource (name, resource_type, time_efficiency, tz, active, company_id)
            SELECT 'Bench ' || g, 'user', 100, 'Asia/Shanghai', TRUE, company FROM n
            RETURNING id, company_id, name
        ),
        e AS (
            INSERT INTO hr_employee (resource_id, company_id, name, active, employee_type, marital,
                                     distance_home_work_unit, cardholder_state, employee_no)
            SELECT id, company_id, name, TRUE, 'employee', 'single', 'kilometers', 'active',
                   'B' || substr(name, 7) FROM r
            RETURNING id, company_id
        )
        INSERT INTO canteen_card (uid, kind, employee_id, company_id, root_company_id, issue_date, state,
                                  scrapped)
        SELECT 'BENCH' || lpad(e.id::text, 10, '0'), 'physical', e.id, e.company_id, %(root)s,
               current_date, 'active', FALSE
          FROM e
        """,
        {"companies": company_ids, "count": count, "root": company_ids[0]},
    )


def store_lists(env):
    """The whitelist change of every card, in one transaction; the commit numbers them."""
    started = time.monotonic()
    env.cr.execute(
        """
        INSERT INTO canteen_card_list_change (card_id, uid, company_id, change, reason, create_date,
                                              create_uid)
        SELECT id, uid, company_id, 'whitelist.add', 'issue', now() AT TIME ZONE 'UTC', 1 FROM canteen_card
        """
    )
    env.cr.commit()
    return time.monotonic() - started


def full_list(bridge, terminal):
    """A new terminal's download of its whole list: (seconds, entries, pages)."""
    client = bridge.client(terminal)
    started, cursor, entries, pages = time.monotonic(), 0, 0, 0
    while True:
        status, answer = client.commands(cursor)
        assert status == 200, answer
        pages += 1
        entries += len(answer["commands"])
        if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
            return time.monotonic() - started, entries, pages
        cursor = answer["cursor"]


def loss_to_all(bridge, env, terminals, card_uid):
    """Seconds from the commit of one loss report to its arrival at the last long-polling terminal."""
    env.cr.execute("SELECT COALESCE(MAX(position), 1) FROM canteen_card_list_change")
    cursor = env.cr.fetchone()[0]
    arrived, ready = {}, threading.Barrier(len(terminals) + 1)

    def hold(terminal):
        client = bridge.client(terminal)
        ready.wait()
        deadline = time.monotonic() + 60  # bounded: a terminal that never gets it is reported
        while terminal["serial"] not in arrived and time.monotonic() < deadline:
            status, answer = client.commands(cursor, 30)
            if status == 200 and any(
                c["type"] == "blacklist.add" and c["payload"]["uid"] == card_uid for c in answer["commands"]
            ):
                arrived[terminal["serial"]] = time.monotonic()

    threads = [threading.Thread(target=hold, args=(t,), daemon=True) for t in terminals]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(3)  # every poll is held by now
    card = env["canteen.card"].search([("uid", "=", card_uid)])
    card.action_report_loss()
    committed = time.monotonic()
    env.cr.commit()
    for thread in threads:
        thread.join(60)
    return (max(arrived.values()) - committed if arrived else None), len(arrived)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cards", type=int, default=150_000)
    parser.add_argument("--terminals", type=int, default=200)
    args = parser.parse_args()
    devstack.ensure_odoo()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    os.environ.update(
        CANTEEN_DB_HOST=db["host"],
        CANTEEN_DB_PORT=str(db["port"]),
        CANTEEN_DB_USER=db["user"],
        CANTEEN_DB_PASSWORD=db["password"],
    )
    devstack.install_database(db, DBNAME, "canteen_pos_bridge")
    env = odoo_env(db)
    hq, branches = companies(env)
    devstack.say(f"Inserting {args.cards} people and cards in {BRANCHES + 1} companies")
    bulk_cards(env, [hq.id, *branches.ids], args.cards)
    env.cr.commit()
    devstack.say("Storing their whitelist changes")
    store_seconds = store_lists(env)
    Terminal = env["canteen.terminal"]
    # The terminals serve the lost card's company: its own and its parent's (headquarters).
    tree = [hq, branches[-1]]
    records = Terminal.create(
        [
            {
                "name": f"T{n}",
                "number": n // len(tree) + 1,
                "serial": f"LIST-{n:04d}",
                "company_id": tree[n % len(tree)].id,
            }
            for n in range(args.terminals)
        ]
    )
    env.cr.commit()
    terminals = [{"serial": t.serial, "secret": t.sudo().secret} for t in records]
    env.cr.execute(
        "SELECT (SELECT count(*) FROM canteen_card_list_change), "
        "(SELECT count(*) FROM canteen_terminal_command)"
    )
    list_rows, command_rows = env.cr.fetchone()
    bridge = BridgeProcess(DBNAME, pool_size=32).start()
    try:
        devstack.say("A new headquarters terminal downloads its whole list")
        download_seconds, entries, pages = full_list(bridge, terminals[0])
        devstack.say(f"One loss reaches {args.terminals} long-polling terminals")
        env.cr.execute(
            "SELECT uid FROM canteen_card WHERE company_id = %s ORDER BY id DESC LIMIT 1", [branches[-1].id]
        )
        loss_seconds, reached = loss_to_all(bridge, env, terminals, env.cr.fetchone()[0])
    finally:
        bridge.stop()
        env.cr.close()
    print(
        json.dumps(
            {
                "cards": args.cards,
                "terminals": args.terminals,
                "store_lists_s": round(store_seconds, 2),
                "rows_stored": {"list_changes": list_rows, "terminal_commands": command_rows},
                "full_list_to_one_terminal": {
                    "seconds": round(download_seconds, 2),
                    "entries": entries,
                    "pages": pages,
                },
                "loss_to_all_terminals": {
                    "seconds": round(loss_seconds, 3) if loss_seconds is not None else None,
                    "terminals_reached": reached,
                },
            },
            indent=1,
        )
    )
    devstack.drop_database(db, DBNAME)


if __name__ == "__main__":
    main()
