"""Faults under load: the bridge killed with SIGKILL, PostgreSQL restarted.

Approvals are sent only after their transaction commits, so whatever a client was told is in
the ledger, and the ledger never holds a charge without its transaction record.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from bridge_harness import BridgeProcess, free_port, load_simulator
from conftest import environment

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR = load_simulator()


class Load:
    """Terminals charging in threads until stopped; keeps every answer they got."""

    def __init__(self, bridge, setup, threads=16):
        self.bridge, self.setup, self.stop_event = bridge, setup, threading.Event()
        self.answers, self.threads = (
            [],
            [threading.Thread(target=self.run, args=(n,)) for n in range(threads)],
        )

    def run(self, n):
        terminal = self.setup["terminals"][n % len(self.setup["terminals"])]
        client = self.bridge.client(terminal, timeout=5)
        holders = self.setup["cardholders"]
        i = n
        while not self.stop_event.is_set():
            holder = holders[i % len(holders)]
            try:
                status, answer = client.charge({"type": "card", "value": holder["card"]}, "1.00")
            except OSError as error:
                status, answer = 0, {"error": type(error).__name__}
                time.sleep(0.05)
            self.answers.append((time.monotonic(), status, answer))
            i += len(self.threads)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)

    def approved_ids(self):
        return {
            a["transaction_id"] for _t, s, a in self.answers if s == 200 and a.get("status") == "approved"
        }


def orphan_entries(env):
    env.cr.execute(
        """SELECT count(*) FROM canteen_ledger_entry e
            WHERE e.transaction_ref IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM canteen_transaction t
                               WHERE t.name = e.transaction_ref AND t.status = 'approved')"""
    )
    return env.cr.fetchone()[0]


def synced_cursor(client):
    cursor = 0
    while True:
        status, answer = client.commands(cursor)
        assert status == 200, answer
        if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
            return cursor
        cursor = answer["cursor"]


def report_losses(env, holders):
    """Loss reports at the desk, committed: list changes the terminals must all receive."""
    for holder in holders:
        env["hr.employee"].browse(holder["employee_id"]).current_card_id.action_report_loss()
    env.cr.commit()
    return {holder["card"] for holder in holders}


def blacklisted(client, cursor):
    uids = set()
    while True:
        status, answer = client.commands(cursor)
        assert status == 200, answer
        uids |= {c["payload"]["uid"] for c in answer["commands"] if c["type"] == "blacklist.add"}
        if answer["cursor"] == cursor:
            return uids
        cursor = answer["cursor"]


def test_sigkill_under_load_loses_no_approval(odoo_registry):
    with environment(odoo_registry) as env:
        setup = SIMULATOR.provision(env, dedup_window=0, terminals=8, cardholders=50, modes=("free",))
    bridge = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    cursor = synced_cursor(bridge.client(setup["terminals"][0]))
    with Load(bridge, setup) as load:
        time.sleep(1.0)
        with environment(odoo_registry) as env:
            lost = report_losses(env, setup["cardholders"][-2:])
        time.sleep(1.0)
        bridge.process.send_signal(signal.SIGKILL)
        bridge.process.wait(10)
        time.sleep(0.5)
    # No list change is lost: a new bridge process delivers the losses made under load.
    again = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    try:
        assert blacklisted(again.client(setup["terminals"][0]), cursor) == lost
    finally:
        again.stop()
    approved = load.approved_ids()
    assert len(approved) > 50, "the load ran before the kill"
    with environment(odoo_registry) as env:
        env.cr.execute(
            """SELECT t.name FROM canteen_transaction t
                WHERE t.name = ANY(%s) AND t.status = 'approved'
                  AND EXISTS (SELECT 1 FROM canteen_ledger_entry e WHERE e.transaction_ref = t.name)""",
            [list(approved)],
        )
        assert {row[0] for row in env.cr.fetchall()} == approved
        assert orphan_entries(env) == 0
        assert env["canteen.reconciliation"]._differences() == {}


@pytest.fixture
def private_cluster(odoo_registry):
    """A PostgreSQL cluster of this test's own, holding a copy of the test database."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import devstack

    db = {
        "host": "127.0.0.1",
        "port": free_port(),
        "user": os.environ["CANTEEN_DB_USER"],
        "password": os.environ["CANTEEN_DB_PASSWORD"],
    }
    cluster = devstack.PrivateCluster(f"pg-fault-{db['port']}", db, durable=False)
    cluster.start()
    env = dict(os.environ, PGPASSWORD=db["password"])
    source = os.environ["CANTEEN_TEST_DB"]
    dump = cluster.dir / "test.dump"
    devstack.subprocess.run(
        [
            "pg_dump",
            "-Fc",
            "-h",
            os.environ["CANTEEN_DB_HOST"],
            "-p",
            os.environ["CANTEEN_DB_PORT"],
            "-U",
            db["user"],
            "-f",
            str(dump),
            source,
        ],
        check=True,
        env=env,
    )
    devstack.subprocess.run(
        ["createdb", "-h", db["host"], "-p", str(db["port"]), "-U", db["user"], "faults"], check=True, env=env
    )
    devstack.subprocess.run(
        [
            "pg_restore",
            "-h",
            db["host"],
            "-p",
            str(db["port"]),
            "-U",
            db["user"],
            "-d",
            "faults",
            "--no-owner",
            str(dump),
        ],
        check=True,
        env=env,
    )
    yield cluster, db
    cluster.stop(remove=True)


def test_postgresql_restart_under_load(private_cluster):
    cluster, db = private_cluster
    from odoo.modules.registry import Registry
    from odoo.tools import config

    saved = (config["db_port"], config["db_host"])
    config["db_port"], config["db_host"] = db["port"], db["host"]
    try:
        with environment(Registry("faults")) as env:
            setup = SIMULATOR.provision(env, dedup_window=0, terminals=4, cardholders=20, modes=("free",))
    finally:
        config["db_port"], config["db_host"] = saved
    bridge = BridgeProcess("faults", db_port=db["port"], pool_size=8).start()
    try:
        cursor = synced_cursor(bridge.client(setup["terminals"][0]))
        with Load(bridge, setup, threads=8) as load:
            time.sleep(1.5)
            cluster.stop()
            down_at = time.monotonic()
            time.sleep(2.0)
            # PostgreSQL accepts connections before `pg_ctl start` returns: the window where
            # only 503s are right ends when the start begins.
            starting_at = time.monotonic()
            cluster.start()
            up_at = time.monotonic()
            time.sleep(4.0)
        statuses_down = {s for t, s, _a in load.answers if down_at + 0.5 < t < starting_at}
        assert statuses_down == {503}, statuses_down
        assert all(s in (200, 503) for _t, s, _a in load.answers), {s for _t, s, _a in load.answers}
        approved_after = [
            a for t, s, a in load.answers if t > up_at + 2 and s == 200 and a["status"] == "approved"
        ]
        assert approved_after, "approvals came back without restarting the bridge"
        assert bridge.process.poll() is None
        config["db_port"], config["db_host"] = db["port"], db["host"]
        try:
            with environment(Registry("faults")) as env:
                lost = report_losses(env, setup["cardholders"][-1:])
        finally:
            config["db_port"], config["db_host"] = saved
        assert blacklisted(bridge.client(setup["terminals"][0]), cursor) == lost
    finally:
        assert bridge.stop() == 0
