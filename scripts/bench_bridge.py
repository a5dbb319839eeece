#!/usr/bin/env python3
"""Benchmark of the bridge on this machine, with PostgreSQL's durable defaults:

1. the terminal simulator drives T free-amount terminals at R charges per second in all for
   S seconds (after a warm-up) against one bridge process with its default settings, and
   prints approved charges per second and latency percentiles;
2. the same terminals as fast as they can, for the bridge's ceiling;
3. 1,000 terminals hold long polls while the bridge's resident memory is read;
4. pgbench runs the bridge's own statements for one charge (one charge per transaction) on the
   same cluster, for the ratio between the bridge and PostgreSQL alone.

    python3 scripts/bench_bridge.py [--terminals 200] [--rate 1050] [--seconds 60]

With --dingtalk, only this instead: canteen_dingtalk installed too, every cardholder a DingTalk
user and a fake DingTalk on 127.0.0.1; the terminals charge as fast as they can in three rounds,
balance messages off (no message cron), on (the message cron running beside the bridge all the
round, as on a busy meal peak, sending to the fake) and off again; then the cron's backlog drains.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

sys.path.insert(0, str(devstack.ROOT / "tests"))
from bridge_harness import BridgeProcess, load_simulator  # the e2e tests' bridge runner

DBNAME = "canteen_bench_bridge"


def install(db, modules="canteen_pos_bridge"):
    devstack.drop_database(db, DBNAME)
    devstack.say(f"Installing {modules} in {DBNAME!r}")
    subprocess.run(
        devstack.odoo_cmd(
            db,
            DBNAME,
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ),
        check=True,
        cwd=devstack.ROOT,
    )


def odoo_env(db):
    return load_simulator().odoo_env(
        DBNAME,
        [
            f"--db_host={db['host']}",
            f"--db_port={db['port']}",
            f"--db_user={db['user']}",
            f"--db_password={db['password']}",
        ],
    )


def settle(db):
    """Vacuum, analyse and checkpoint after provisioning, as a database in service would be:
    otherwise autovacuum works through the bulk load (400,000 list commands for the terminals)
    and the background writer flushes it during the measurement. Empty tables are left alone:
    analysed empty, they would be planned as empty by the bridge's prepared statements."""
    import psycopg2
    import psycopg2.errors
    from psycopg2 import sql

    devstack.say("Vacuuming and checkpointing after the bulk load")
    conn = psycopg2.connect(
        dbname=DBNAME, host=db["host"], port=db["port"], user=db["user"], password=db["password"]
    )
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cr.fetchall():
            cr.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
            if cr.fetchone()[0]:
                cr.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        try:
            cr.execute("CHECKPOINT")
        except psycopg2.errors.InsufficientPrivilege:
            devstack.say("No CHECKPOINT (the user is not allowed to): the figures may show the flush")
    conn.close()


def drive(bridge, setup, seconds, rate=0, warmup=0):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(setup, handle)
    output = subprocess.run(
        [
            sys.executable,
            str(devstack.ROOT / "scripts" / "terminal_simulator.py"),
            "drive",
            "--setup",
            handle.name,
            "--port",
            str(bridge.port),
            "--seconds",
            str(seconds),
            "--rate",
            str(rate),
            "--warmup",
            str(warmup),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    os.unlink(handle.name)
    sys.stderr.write(output.stderr)
    return json.loads(output.stdout)


def offline_upload(bridge, setup, batches=36, size=1000):
    """36 batches of 1,000 offline records from one terminal, then the same again: seconds for
    the upload, and how the re-upload was answered (every record a duplicate)."""
    import datetime

    client = bridge.client(setup["terminals"][0], timeout=120)
    holders = setup["cardholders"]
    when = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()
    uploads = [
        [
            {
                "seq": 50_000_000 + batch * size + n,
                "identity": {"type": "card", "value": holders[(batch * size + n) % len(holders)]["card"]},
                "amount": "1.00",
                "occurred_at": when,
            }
            for n in range(size)
        ]
        for batch in range(batches)
    ]

    def send_all():
        started, statuses = time.monotonic(), {}
        for records in uploads:
            status, answer = client.offline(records)
            assert status == 200, answer
            for result in answer["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        return time.monotonic() - started, statuses

    seconds, first = send_all()
    again_seconds, again = send_all()
    return {
        "records": batches * size,
        "seconds": round(seconds, 1),
        "results": first,
        "reupload_seconds": round(again_seconds, 1),
        "reupload_results": again,
    }


def long_poll_memory(bridge, setups):
    """RSS of the bridge while every terminal of `setups` holds a long poll."""
    script = (
        "import json, sys, gevent\n"
        "from gevent import monkey; monkey.patch_socket(); monkey.patch_select()\n"
        f"sys.path.insert(0, {str(devstack.ROOT / 'addons' / 'canteen_pos_bridge' / 'tools')!r})\n"
        "from terminal_client import TerminalClient\n"
        "terminals = json.load(sys.stdin)\n"
        f"port = {bridge.port}\n"
        "clients = [TerminalClient('127.0.0.1', port, t['serial'], t['secret']) for t in terminals]\n"
        "gevent.joinall([gevent.spawn(c.commands, 0, 30) for c in clients], timeout=40)\n"
    )
    terminals = [t for setup in setups for t in setup["terminals"]]
    pollers = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, text=True)
    pollers.stdin.write(json.dumps(terminals))
    pollers.stdin.close()
    time.sleep(12)
    rss_kb = int(
        next(
            line.split()[1]
            for line in Path(f"/proc/{bridge.process.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        )
    )
    pollers.wait(60)
    return len(terminals), rss_kb / 1024


def pgbench_script(env, setup):
    """One charge as the bridge sends it (a batch of one), with pgbench variables: a random
    cardholder identified by employee number, a fresh seq and nonce, 1.00 from cash."""
    from odoo.addons.canteen_card.tools import ledger_core
    from odoo.addons.canteen_pos_bridge.tools import charge_sql

    company = env["res.company"].browse(setup["company_id"])
    terminal, merchant = setup["terminals"][0]["id"], setup["merchant_id"]
    employee_no = "(SELECT employee_no FROM hr_employee WHERE id = :emp)"
    read = {
        "kind": "ARRAY['employee']",
        "value": f"ARRAY[{employee_no}]",
        "path": f"ARRAY['{company.parent_path}']",
        "terminal": f"ARRAY[{terminal}]",
        "seq": "ARRAY[:seq::int]",
        "meal": "ARRAY[NULL]",
        "day": "ARRAY[current_date]",
        "window": "ARRAY[0]",
        "priced": "ARRAY[true]",
    }
    wallet = "(SELECT id FROM canteen_wallet WHERE employee_id = :emp AND kind = 'cash')"
    balance = f"(SELECT balance - 1 FROM canteen_wallet WHERE id = {wallet})"  # noqa: S608 - constants
    transaction = dict.fromkeys(charge_sql.TRANSACTION_TYPES, "ARRAY[NULL]")
    transaction.update(
        id="ARRAY[:txid::int]",
        name="ARRAY['B' || :txid]",
        terminal_id=f"ARRAY[{terminal}]",
        seq="ARRAY[:seq::int]",
        status="ARRAY['approved']",
        offline="ARRAY[false]",
        deduplicated="ARRAY[false]",
        overdraft="ARRAY[false]",
        after_loss="ARRAY[false]",
        employee_id="ARRAY[:emp::int]",
        company_id=f"ARRAY[{company.id}]",
        charged="ARRAY[1]",
        response="""ARRAY['{"status": "approved"}']""",
    )
    entry = [
        f"ARRAY[{wallet}]",
        "ARRAY['cash']",
        "ARRAY[:emp::int]",
        "ARRAY[NULL]",
        f"ARRAY[{company.id}]",
        f"ARRAY[{company.currency_id.id}]",
        "ARRAY['charge']",
        "ARRAY[-1]",
        f"ARRAY[{balance}]",
        "ARRAY[false]",
        "ARRAY[1]",  # charge_count
        "ARRAY[1]",
        "ARRAY[1]",
        f"ARRAY[{merchant}]",
        f"ARRAY[{terminal}]",
        "ARRAY[NULL]",
        "ARRAY['B' || :txid]",
        "ARRAY[now()]",
        "ARRAY[current_date]",
        "ARRAY[NULL]",
    ]
    # The extra columns of the bridge's charges (charge_engine.Charge._entry_values).
    entries = ledger_core.entries_query(
        ("merchant_id", "terminal_id", "card_id", "transaction_ref", "date", "business_date", "meal_kind")
    )
    statements = [
        "BEGIN",
        charge_sql.LOCK % read,
        charge_sql.READ % read,
        charge_sql.NONCES % (f"ARRAY[{terminal}]", "ARRAY[md5(random()::text)]"),
        charge_sql.HEARTBEATS % f"ARRAY[{terminal}]",
        charge_sql.TRANSACTIONS % tuple(transaction.values()),
        entries % (*entry, "1", f"ARRAY[{wallet}]", f"ARRAY[{balance}]"),
        "COMMIT",
    ]
    employee_ids = [h["employee_id"] for h in setup["cardholders"]]
    head = [
        f"\\set emp random({min(employee_ids)}, {max(employee_ids)})",
        "\\set seq random(1, 2000000000)",
        "\\set txid random(1000000000, 2000000000)",
    ]
    return "\n".join(head + [" ".join(statement.split()) + ";" for statement in statements]) + "\n"


def pgbench(db, script, seconds, clients):
    env = dict(os.environ, PGPASSWORD=db["password"])
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        [
            "pgbench",
            "-n",
            "-M",
            "prepared",
            "-h",
            db["host"],
            "-p",
            str(db["port"]),
            "-U",
            db["user"],
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            handle.name,
            DBNAME,
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    os.unlink(handle.name)
    tps = [line for line in output.stdout.splitlines() if line.startswith("tps")]
    if not tps:
        sys.stderr.write(output.stdout + output.stderr)
    return float(tps[0].split()[2]) if tps else None


def dingtalk_rounds(env, bridge, setup, seconds):
    """Approved charges per second with balance messages off, on (message cron running) and off."""
    import threading

    from odoo.addons.canteen_dingtalk.tools.fake_dingtalk import FakeDingTalk

    fake = FakeDingTalk().start()
    params = env["ir.config_parameter"]
    for key in ("api_base", "oapi_base"):
        params.set_param(f"canteen_dingtalk.{key}", fake.base_url)
    company = env["res.company"].browse(setup["company_id"])
    company.write({"dingtalk_app_key": fake.app_key, "dingtalk_app_secret": fake.app_secret})
    company.write({"dingtalk_agent_id": "1", "dingtalk_notify": True})
    env.cr.execute(
        "UPDATE hr_employee SET dingtalk_userid = 'bench-' || id WHERE company_id = %s", [company.id]
    )
    Message = env["canteen.dingtalk.message"]
    Message._cron_process()  # the provisioning's top-ups: their messages, before measuring
    env.cr.commit()

    def count(query):
        env.cr.execute(query)
        return env.cr.fetchone()[0]

    def cron_loop(stop, done):
        # The message cron as Odoo's cron worker runs it, on its own connection, back to back.
        while not stop.is_set():
            with env.registry.cursor() as cr:
                cron_env = env(cr=cr)
                cron_env["canteen.dingtalk.message"]._cron_process()
                cr.commit()
            done.append(1)
            stop.wait(1)

    rounds = {}
    for label, cron in (("messages_off", False), ("messages_on", True), ("messages_off_again", False)):
        before = len(fake.messages)
        stop, done = threading.Event(), []
        thread = threading.Thread(target=cron_loop, args=(stop, done)) if cron else None
        if thread:
            thread.start()
        devstack.say(f"Driving the terminals as fast as they can for {seconds}s, {label}")
        result = drive(bridge, setup, seconds)
        if thread:
            stop.set()
            thread.join()
        rounds[label] = {
            "approved_per_s": result["approved_per_s"],
            "latency_ms": result["latency_ms"],
            "errors": result.get("errors"),
            "cron_runs": len(done),
            "messages_sent_to_fake": len(fake.messages) - before,
        }
    env.cr.rollback()
    backlog = count(
        "SELECT count(*) FROM canteen_ledger_entry e WHERE NOT EXISTS "
        "(SELECT 1 FROM canteen_dingtalk_message_entry_rel r WHERE r.entry_id = e.id)"
    )
    started, sent_before = time.monotonic(), len(fake.messages)
    while True:
        Message._cron_process()
        env.cr.commit()
        if not count("SELECT count(*) FROM canteen_dingtalk_message WHERE state = 'pending'") and not count(
            "SELECT count(*) FROM canteen_ledger_entry e WHERE NOT EXISTS "
            "(SELECT 1 FROM canteen_dingtalk_message_entry_rel r WHERE r.entry_id = e.id)"
        ):
            break
    drain = time.monotonic() - started
    fake.stop()
    rounds["drain_after_rounds"] = {
        "entries_without_message": backlog,
        "seconds": round(drain, 1),
        "messages_sent": len(fake.messages) - sent_before,
    }
    return rounds


def dingtalk_main(db, env, bridge, setup, seconds):
    try:
        print(json.dumps({"dingtalk": dingtalk_rounds(env, bridge, setup, seconds)}, indent=1))
    finally:
        bridge.stop()
        env.cr.close()
    devstack.drop_database(db, DBNAME)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--cardholders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1050, help="charges per second, all terminals together")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--only-offline", action="store_true", help="only the offline upload (36 batches of 1,000 records)"
    )
    parser.add_argument(
        "--dingtalk",
        action="store_true",
        help="only the charge ceiling with DingTalk balance messages off, on and off again (--seconds each)",
    )
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
    install(db, "canteen_pos_bridge,canteen_dingtalk" if args.dingtalk else "canteen_pos_bridge")
    simulator, env = load_simulator(), odoo_env(db)
    devstack.say(f"Provisioning {args.terminals} terminals and {args.cardholders} cardholders")
    setup = simulator.provision(
        env,
        dedup_window=0,
        terminals=args.terminals,
        cardholders=args.cardholders,
        balance="100000.00",
        modes=("free",),
    )
    settle(db)
    bridge = BridgeProcess(DBNAME).start()
    if args.dingtalk:
        dingtalk_main(db, env, bridge, setup, args.seconds)
        return
    if args.only_offline:
        try:
            devstack.say("Uploading 36 batches of 1,000 offline records, twice")
            print(json.dumps({"offline_upload": offline_upload(bridge, setup)}, indent=1))
        finally:
            bridge.stop()
            env.cr.close()
        devstack.drop_database(db, DBNAME)
        return
    try:
        devstack.say(f"Driving {args.terminals} terminals at {args.rate:.0f}/s for {args.seconds}s")
        rated = drive(bridge, setup, args.seconds, rate=args.rate, warmup=args.warmup)
        devstack.say(f"Driving {args.terminals} terminals as fast as they can for 20s")
        ceiling = drive(bridge, setup, 20)
        devstack.say("Uploading 36 batches of 1,000 offline records, twice")
        offline = offline_upload(bridge, setup)
        polls = [simulator.provision(env, terminals=500, cardholders=1, balance="0") for _n in range(2)]
        terminals, rss_mb = long_poll_memory(bridge, polls)
        script = pgbench_script(env, setup)
    finally:
        bridge.stop()
        env.cr.close()
    devstack.say("pgbench with the bridge's statements for one charge, same cluster, 8 clients")
    tps = pgbench(db, script, 30, 8)
    print(
        json.dumps(
            {
                "bridge_at_rate": rated,
                "bridge_ceiling": ceiling,
                "offline_upload": offline,
                "long_polls": {"terminals": terminals, "bridge_rss_mb": round(rss_mb, 1)},
                "pgbench_tps": tps,
                "bridge_ceiling_to_pgbench": round(ceiling["approved_per_s"] / tps, 2) if tps else None,
            },
            indent=1,
        )
    )
    devstack.drop_database(db, DBNAME)


if __name__ == "__main__":
    main()
