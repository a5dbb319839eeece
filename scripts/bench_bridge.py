#!/usr/bin/env python3
"""Benchmark of the bridge on this machine, with PostgreSQL's durable defaults:

1. the terminal simulator drives T free-amount terminals for S seconds against one bridge
   process and prints approved charges per second and latency percentiles;
2. 1,000 terminals hold long polls while the bridge's resident memory is read;
3. pgbench runs the SQL of one charge (scripts/bench_charge.sql) on the same cluster, for the
   ratio between the bridge and PostgreSQL alone.

    python3 scripts/bench_bridge.py [--terminals 200] [--seconds 60] [--pool-size 32]
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


def install(db):
    devstack.drop_database(db, DBNAME)
    devstack.say(f"Installing canteen_pos_bridge in {DBNAME!r}")
    subprocess.run(
        devstack.odoo_cmd(
            db,
            DBNAME,
            "-i",
            "canteen_pos_bridge",
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


def drive(bridge, setup, seconds):
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
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    os.unlink(handle.name)
    sys.stderr.write(output.stderr)
    return json.loads(output.stdout)


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


def pgbench(db, setup, seconds, clients):
    env = dict(os.environ, PGPASSWORD=db["password"])
    employee_ids = [h["employee_id"] for h in setup["cardholders"]]
    output = subprocess.run(
        [
            "pgbench",
            "-n",
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
            str(devstack.ROOT / "scripts" / "bench_charge.sql"),
            "-D",
            f"min_emp={min(employee_ids)}",
            "-D",
            f"max_emp={max(employee_ids)}",
            "-D",
            f"terminal={setup['terminals'][0]['id']}",
            "-D",
            f"merchant={setup['merchant_id']}",
            DBNAME,
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    tps = [line for line in output.stdout.splitlines() if line.startswith("tps")]
    return float(tps[0].split()[2]) if tps else None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pool-size", type=int, default=32)
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
    install(db)
    simulator, env = load_simulator(), odoo_env(db)
    setup = simulator.provision(
        env, dedup_window=0, terminals=args.terminals, cardholders=5000, balance="100000.00", modes=("free",)
    )
    bridge = BridgeProcess(DBNAME, pool_size=args.pool_size).start()
    try:
        devstack.say(f"Driving {args.terminals} terminals for {args.seconds}s")
        summary = drive(bridge, setup, args.seconds)
        polls = [simulator.provision(env, terminals=500, cardholders=1, balance="0") for _n in range(2)]
        terminals, rss_mb = long_poll_memory(bridge, polls)
    finally:
        bridge.stop()
        env.cr.close()
    devstack.say("pgbench with the charge's SQL, same cluster, 32 clients")
    tps = pgbench(db, setup, min(args.seconds, 30), 32)
    print(
        json.dumps(
            {
                "bridge": summary,
                "long_polls": {"terminals": terminals, "bridge_rss_mb": round(rss_mb, 1)},
                "pgbench_tps": tps,
                "bridge_to_pgbench": round(summary["approved_per_s"] / tps, 2) if tps else None,
            },
            indent=1,
        )
    )
    devstack.drop_database(db, DBNAME)


if __name__ == "__main__":
    main()
