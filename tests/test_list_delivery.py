"""Issue 10: every list change reaches every terminal exactly once, however the desk
transactions that make them interleave and commit. Real database connections write the changes
(the trigger that numbers them at commit is what is tested), the bridge serves the terminals."""

import os
import random
import threading
import time

import psycopg2
import pytest
from bridge_harness import BridgeProcess, load_simulator
from conftest import environment

SIMULATOR = load_simulator()


@pytest.fixture(scope="module")
def bridge():
    process = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def site(odoo_registry):
    with environment(odoo_registry) as env:
        return SIMULATOR.provision(env, dedup_window=0, terminals=3, cardholders=4, balance="0")


def connect():
    return psycopg2.connect(
        dbname=os.environ["CANTEEN_TEST_DB"],
        host=os.environ["CANTEEN_DB_HOST"],
        port=os.environ["CANTEEN_DB_PORT"],
        user=os.environ["CANTEEN_DB_USER"],
        password=os.environ["CANTEEN_DB_PASSWORD"],
    )


def queue_change(cr, site, card_id, uid):
    """What a desk operation inserts for a card (canteen.card._record_list_changes)."""
    cr.execute(
        "INSERT INTO canteen_card_list_change (card_id, uid, company_id, change, reason, create_date) "
        "VALUES (%s, %s, %s, 'blacklist.add', 'loss', now() AT TIME ZONE 'UTC')",
        [card_id, uid, site["company_id"]],
    )


def card_ids(odoo_registry, site):
    with environment(odoo_registry) as env:
        return [
            env["hr.employee"].browse(holder["employee_id"]).current_card_id.id
            for holder in site["cardholders"]
        ]


def synced(client):
    """Read the snapshot and everything after it; the cursor to poll from next."""
    cursor = 0
    while True:
        status, answer = client.commands(cursor)
        assert status == 200, answer
        if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
            return cursor
        cursor = answer["cursor"]


def losses(client, cursor, wait=0):
    """(cursor, uids of blacklist.add received) from one poll."""
    status, answer = client.commands(cursor, wait)
    assert status == 200, answer
    return answer["cursor"], [c["payload"]["uid"] for c in answer["commands"] if c["type"] == "blacklist.add"]


def test_a_change_committed_late_is_not_skipped(bridge, site, odoo_registry):
    client = bridge.client(site["terminals"][0])
    cursor = synced(client)
    first_card, second_card = card_ids(odoo_registry, site)[:2]
    early, late = connect(), connect()
    try:
        with early.cursor() as cr:
            queue_change(cr, site, first_card, "EARLY-BEGUN")  # begun first, committed last
        with late.cursor() as cr:
            queue_change(cr, site, second_card, "LATE-BEGUN")
        late.commit()
        cursor, got = losses(client, cursor)
        assert got == ["LATE-BEGUN"]
        early.commit()
        cursor, got = losses(client, cursor)
        assert got == ["EARLY-BEGUN"], "the change committed after the poll is still delivered"
        assert losses(client, cursor) == (cursor, [])
    finally:
        early.close()
        late.close()


def test_twenty_interleaved_writers_three_terminals_exactly_once(bridge, site, odoo_registry):
    clients = [bridge.client(terminal) for terminal in site["terminals"]]
    cursors = [synced(client) for client in clients]
    cards = card_ids(odoo_registry, site)
    expected = [f"W{writer:02d}-{n}" for writer in range(20) for n in range(5)]
    received = [[] for _client in clients]
    done = threading.Event()

    def write(writer):
        conn = connect()
        rng = random.Random(writer)
        try:
            for n in range(5):
                with conn.cursor() as cr:
                    queue_change(cr, site, rng.choice(cards), f"W{writer:02d}-{n}")
                time.sleep(rng.uniform(0, 0.05))  # hold the transaction open, out of order
                conn.commit()
        finally:
            conn.close()

    def poll(index):
        cursor = cursors[index]
        while True:
            finished = done.is_set()
            cursor, got = losses(clients[index], cursor, wait=1)
            received[index] += got
            if finished and not got:
                return

    pollers = [threading.Thread(target=poll, args=(i,)) for i in range(len(clients))]
    writers = [threading.Thread(target=write, args=(w,)) for w in range(20)]
    for thread in pollers + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    for thread in pollers:
        thread.join(60)
    for index, got in enumerate(received):
        assert sorted(got) == sorted(expected), f"terminal {index}: {len(got)} of {len(expected)}"


def test_list_changes_are_stored_once_not_per_terminal(site, odoo_registry):
    with environment(odoo_registry) as env:
        env.cr.execute(
            "SELECT count(*) FROM canteen_terminal_command WHERE type LIKE '%%list.%%' "
            "OR type LIKE 'blacklist.%%' OR type LIKE 'whitelist.%%'"
        )
        assert env.cr.fetchone()[0] == 0
