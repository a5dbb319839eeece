#!/usr/bin/env python3
"""Terminal simulator for the canteen bridge.

provision  create a company with a merchant, meal periods covering the day, terminals in every
           mode and cardholders with cards, face ids and balances; print serials and secrets
           as JSON.
drive      run N terminals against a bridge at a total rate, with card, face and employee
           identities in every mode; show progress and end with a summary (requests/s,
           approved, declined by reason, errors, p50/p95/p99 latency).

  python3 scripts/terminal_simulator.py provision -d canteen --terminals 4 --cardholders 50 > sim.json
  python3 scripts/terminal_simulator.py drive --setup sim.json --port 8070 --rate 200 --seconds 30
"""

import argparse
import gc
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("free", "fixed", "count", "menu")
MEALS = (("breakfast", 0.0, 10.0), ("lunch", 10.0, 15.0), ("dinner", 15.0, 21.0), ("late_night", 21.0, 24.0))
MENU = (("RICE", "Rice", "2.00"), ("MEAT", "Braised pork", "8.50"), ("VEG", "Greens", "3.00"))


# ---------------------------------------------------------------------------------------------
# provision
# ---------------------------------------------------------------------------------------------
def provision(
    env,
    *,
    dedup_window=60,
    terminals=4,
    cardholders=20,
    balance="100.00",
    modes=MODES,
    tz="Asia/Shanghai",
    meal_periods=True,
    card_type_vals=None,
):
    """Create a fresh company with everything terminals need; commit; return the setup."""
    tag = uuid.uuid4().hex[:6].upper()
    company = env["res.company"].create({"name": f"Simulated Site {tag}"})
    env["account.chart.template"].try_loading("generic_coa", company=company, install_demo=False)
    company.resource_calendar_id.tz = tz
    company.canteen_dedup_window = dedup_window
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    merchant = env["canteen.merchant"].create({"name": f"Canteen {tag}", "company_id": company.id})
    if meal_periods:
        # True: the usual meals of the day; or a list of (kind, from, to) of one's own.
        periods = MEALS if meal_periods is True else meal_periods
        env["canteen.meal.period"].create(
            [
                {"merchant_id": merchant.id, "kind": kind, "hour_from": start, "hour_to": end}
                for kind, start, end in periods
            ]
        )
    env["canteen.menu.item"].create(
        [
            {"merchant_id": merchant.id, "code": code, "name": name, "price": float(price)}
            for code, name, price in MENU
        ]
    )
    card_type = env["canteen.card.type"].create(
        dict({"name": f"Sim {tag}", "company_id": company.id}, **(card_type_vals or {}))
    )
    terminal_records = env["canteen.terminal"].create(
        [
            {
                "name": f"Sim {tag} {n + 1}",
                "number": n + 1,
                "serial": f"SIM-{tag}-{n + 1:04d}",
                "company_id": company.id,
                "merchant_id": merchant.id,
                "mode": modes[n % len(modes)],
                "fixed_amount": 12.0,
            }
            for n in range(terminals)
        ]
    )
    employees = env["hr.employee"].create(
        [
            {
                "name": f"Diner {tag} {n:05d}",
                "employee_no": f"{tag}{n:05d}",
                "company_id": company.id,
                "card_type_id": card_type.id,
            }
            for n in range(cardholders)
        ]
    )
    env["canteen.card"].create([{"employee_id": e.id, "uid": f"{tag}{e.id:010X}"} for e in employees])
    employees._canteen_ensure_face_id()
    if float(balance) > 0:
        env["canteen.topup.wizard"].create(
            {"employee_ids": [(6, 0, employees.ids)], "amount": float(balance)}
        ).action_confirm()
    env.flush_all()
    setup = {
        "company_id": company.id,
        "merchant_id": merchant.id,
        "card_type_id": card_type.id,
        "terminals": [
            {"id": t.id, "serial": t.serial, "secret": t.sudo().secret, "mode": t.mode}
            for t in terminal_records
        ],
        "cardholders": [
            {
                "employee_id": e.id,
                "employee_no": e.employee_no,
                "card": e.current_card_id.uid,
                "face": e.canteen_face_id,
            }
            for e in employees
        ],
    }
    # Committed after the reads above too: a transaction left open here would hold back
    # PostgreSQL's vacuum horizon for as long as the caller runs (a whole benchmark), so that no
    # row version the terminals' charges leave behind could be pruned.
    env.cr.commit()
    return setup


def odoo_env(database, config_args=()):
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [
            "-c",
            str(ROOT / "odoo.conf"),
            "--addons-path",
            str(ROOT / "addons"),
            "--log-level",
            "warn",
            *config_args,
        ]
    )
    registry = Registry(database)
    cr = registry.cursor()
    return api.Environment(cr, SUPERUSER_ID, {})


def cmd_provision(args):
    env = odoo_env(args.database, args.odoo_args)
    try:
        setup = provision(env, terminals=args.terminals, cardholders=args.cardholders, balance=args.balance)
    finally:
        env.cr.close()
    json.dump(setup, sys.stdout, indent=1)
    print()


# ---------------------------------------------------------------------------------------------
# drive
# ---------------------------------------------------------------------------------------------
def identity_for(holder, n):
    kind = ("card", "face", "employee")[n % 3]
    value = {"card": holder["card"], "face": holder["face"], "employee": holder["employee_no"]}[kind]
    return {"type": kind, "value": value}


class LeanTerminal:
    """A terminal sending signed charges over one keep-alive HTTP/1.1 connection with as little
    Python as it can: the load generator shares the machine's two cores with the bridge and
    PostgreSQL it measures. Signs exactly as the reference client (terminal_client.signature)."""

    PATH = "/api/v1/transactions"

    def __init__(self, address, terminal, *, signature, timeout=30):
        self.address, self.serial, self.secret = address, terminal["serial"], terminal["secret"]
        self.signature, self.timeout = signature, timeout
        self.sock = None
        self.seq = int(time.time() * 1000) % 1_000_000_000

    def charge(self, identity, amount=None, items=None):
        self.seq += 1
        payload = {"seq": self.seq, "identity": identity, "occurred_at": now_iso()}
        if amount is not None:
            payload["amount"] = amount
        if items is not None:
            payload["items"] = items
        body = json.dumps(payload).encode()
        timestamp, nonce = str(int(time.time())), os.urandom(12).hex()
        head = (
            f"POST {self.PATH} HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Canteen-Terminal: {self.serial}\r\n"
            f"X-Canteen-Timestamp: {timestamp}\r\nX-Canteen-Nonce: {nonce}\r\n"
            f"X-Canteen-Signature: {self.signature(self.secret, 'POST', self.PATH, timestamp, nonce, body)}"
            "\r\n\r\n"
        ).encode()
        for attempt in range(2):
            try:
                return self._exchange(head + body)
            except (OSError, ValueError):
                self.close()
                if attempt:
                    raise
        return None

    def _exchange(self, request):
        if self.sock is None:
            import gevent.socket

            self.sock = gevent.socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _sep, body = data.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        while len(body) < length:
            body += self._recv()
        if b"connection: close" in head.lower():
            self.close()
        return status, json.loads(body)

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the bridge closed the connection")
        return chunk

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def now_iso():
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(stats, started, status, answer):
    if started < stats["measure_from"]:
        return  # warming up: connections, prepared statements and caches are being made
    stats["latencies"].append(time.perf_counter() - started)
    stats["sent"] += 1
    if status == 200 and answer.get("status") == "approved":
        stats["approved"] += 1
    elif status == 200:
        stats["declined"][answer["reason"]] = stats["declined"].get(answer["reason"], 0) + 1
    else:
        key = f"{status} {answer.get('error') if isinstance(answer, dict) else ''}"
        stats["errors"][key] = stats["errors"].get(key, 0) + 1


def drive_terminal(client, terminal, holders, stats, *, first, step, deadline, interval):
    """One simulated terminal: charges at its share of the rate until the deadline."""
    import gevent

    n, next_at = first, time.monotonic() + (first / step) * interval
    while time.monotonic() < deadline:
        holder = holders[(n * 7919) % len(holders)]
        amount = f"{1 + n % 9:.2f}" if terminal["mode"] == "free" else None
        items = (
            [{"product": "RICE", "qty": 1}, {"product": "VEG", "qty": 1}]
            if terminal["mode"] == "menu"
            else None
        )
        started = time.perf_counter()
        try:
            status, answer = client.charge(identity_for(holder, n), amount, items=items)
        except Exception as error:
            status, answer = 0, {"error": type(error).__name__}
        record(stats, started, status, answer)
        n += step
        if interval:
            next_at += interval
            gevent.sleep(max(0.0, next_at - time.monotonic()))
    client.close()


def cmd_drive(args):
    from gevent import monkey

    # Only sockets and select: http.client then yields to the other simulated terminals.
    monkey.patch_socket()
    monkey.patch_select()
    import gevent

    # A load generator must not pause to collect: its pauses would count as the bridge's latency.
    gc.freeze()
    gc.disable()

    sys.path.insert(0, str(ROOT / "addons" / "canteen_pos_bridge" / "tools"))
    from terminal_client import signature

    setup = json.loads(Path(args.setup).read_text())
    terminals = setup["terminals"][: args.terminals or None]
    stats = {"latencies": [], "approved": 0, "declined": {}, "errors": {}, "sent": 0}
    deadline = time.monotonic() + args.warmup + args.seconds
    stats["measure_from"] = time.perf_counter() + args.warmup
    interval = len(terminals) / args.rate if args.rate else 0

    def progress():
        started, seen = time.monotonic(), 0
        while time.monotonic() < deadline:
            gevent.sleep(5)
            recent = sorted(stats["latencies"][seen:])
            seen += len(recent)
            p99 = recent[int(0.99 * len(recent))] * 1000 if recent else 0.0
            print(
                f"  {time.monotonic() - started:5.0f}s  sent {stats['sent']}  approved {stats['approved']}  "
                f"errors {sum(stats['errors'].values())}  last 5 s: {len(recent) / 5:.0f}/s p99 {p99:.1f} ms",
                file=sys.stderr,
                flush=True,
            )

    began = time.monotonic() + args.warmup
    workers = [
        gevent.spawn(
            drive_terminal,
            LeanTerminal((args.host, args.port), t, signature=signature),
            t,
            setup["cardholders"],
            stats,
            first=i,
            step=len(terminals),
            deadline=deadline,
            interval=interval,
        )
        for i, t in enumerate(terminals)
    ]
    reporter = gevent.spawn(progress)
    gevent.joinall(workers)
    reporter.kill()
    summarise(stats, time.monotonic() - began, len(terminals))
    return 1 if stats["errors"] else 0


def summarise(stats, elapsed, terminal_count):
    latencies = sorted(stats["latencies"])

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    summary = {
        "terminals": terminal_count,
        "seconds": round(elapsed, 1),
        "requests": stats["sent"],
        "requests_per_s": round(stats["sent"] / elapsed, 1),
        "approved": stats["approved"],
        "approved_per_s": round(stats["approved"] / elapsed, 1),
        "declined": stats["declined"],
        "errors": stats["errors"],
        "latency_ms": {"p50": round(pct(0.50), 1), "p95": round(pct(0.95), 1), "p99": round(pct(0.99), 1)},
    }
    print(json.dumps(summary, indent=1))
    return summary


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prov = sub.add_parser("provision", help="create terminals and cardholders; print JSON")
    prov.add_argument("-d", "--database", required=True)
    prov.add_argument("--terminals", type=int, default=4)
    prov.add_argument("--cardholders", type=int, default=20)
    prov.add_argument("--balance", default="100.00")
    prov.add_argument(
        "odoo_args", nargs="*", help="extra Odoo options, e.g. --db_port=5433 (a -- before them is optional)"
    )
    prov.set_defaults(func=cmd_provision)
    drive = sub.add_parser("drive", help="drive terminals against a bridge")
    drive.add_argument("--setup", required=True, help="JSON printed by provision")
    drive.add_argument("--host", default="127.0.0.1")
    drive.add_argument("--port", type=int, default=8070)
    drive.add_argument("--terminals", type=int, default=0, help="use only the first N terminals")
    drive.add_argument(
        "--rate", type=float, default=0, help="total requests per second (0: as fast as possible)"
    )
    drive.add_argument("--seconds", type=float, default=30)
    drive.add_argument(
        "--warmup", type=float, default=0, help="seconds driven before the measured ones (not counted)"
    )
    drive.set_defaults(func=cmd_drive)
    # Odoo's own options (--db_port=5433) look like options of ours: provision takes whatever
    # it does not know as Odoo options, with or without a -- before them.
    args, unknown = parser.parse_known_args()
    if unknown:
        if args.command != "provision":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.odoo_args = [*args.odoo_args, *unknown]
    sys.exit(args.func(args) or 0)


if __name__ == "__main__":
    main()
