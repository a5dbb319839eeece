#!/usr/bin/env python3
"""Benchmark of the ledger service: N charges across W wallets, each in its own committed
transaction, from several threads, like terminals would. Prints charges per second, latency
percentiles and the reconciliation difference, which must be 0.

Runs on PostgreSQL's durable defaults (fsync and synchronous_commit on): it uses the
PostgreSQL of odoo.conf, or starts the private durable cluster of `make run`.

    python3 scripts/bench_ledger.py [--charges 20000] [--wallets 1000] [--threads 4]
"""

import argparse
import logging
import random
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

DBNAME = "canteen_bench_ledger"


def create_cardholders(registry, count):
    from odoo import SUPERUSER_ID, api

    started = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        employees = devstack.bench_cardholders(env, count, lambda i: f"B{i:05d}")
        merchant = env["canteen.merchant"].create(
            {"name": "Bench canteen", "company_id": employees.company_id.id}
        )
        env["canteen.topup.wizard"].create(
            {"employee_ids": [(6, 0, employees.ids)], "amount": 10000.0}
        ).action_confirm()
        cr.commit()
        devstack.say(
            f"{count} cardholders with cards and 10,000.00 each in {time.monotonic() - started:.1f}s"
        )
        return employees.ids, merchant.id


def charge_worker(registry, employee_ids, merchant_id, *, charges, latencies, errors, seed):
    from odoo import SUPERUSER_ID, api
    from odoo.service.model import retrying

    rng = random.Random(seed)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        ledger, merchant = env["canteen.ledger"], env["canteen.merchant"].browse(merchant_id)
        for _n in range(charges):
            employee = env["hr.employee"].browse(rng.choice(employee_ids))
            amount = Decimal(rng.randint(100, 2500)) / 100
            began = time.perf_counter()
            try:
                # As an Odoo request: a serialization failure (two threads, one wallet) is retried.
                retrying(lambda e=employee, a=amount: ledger._charge(e, a, merchant=merchant), env)
                cr.commit()
            except Exception as error:
                cr.rollback()
                errors.append(repr(error))
            latencies.append(time.perf_counter() - began)
            env.invalidate_all()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--charges", type=int, default=20000)
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    devstack.ensure_odoo()
    devstack.ensure_requirements()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    devstack.install_database(db, DBNAME, "canteen_card")
    registry = devstack.open_registry(db, DBNAME)
    # Two threads on one wallet: the loser's serialization failure is retried, not an error.
    logging.getLogger("odoo.sql_db").setLevel(logging.CRITICAL)
    employee_ids, merchant_id = create_cardholders(registry, args.wallets)

    latencies, errors = [], []
    per_thread = args.charges // args.threads
    threads = [
        threading.Thread(
            target=charge_worker,
            args=(registry, employee_ids, merchant_id),
            kwargs={"charges": per_thread, "latencies": latencies, "errors": errors, "seed": seed},
        )
        for seed in range(args.threads)
    ]
    devstack.say(f"Charging {per_thread * args.threads} times from {args.threads} threads")
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        differences = env["canteen.reconciliation"]._differences()
        count = env["canteen.ledger.entry"].search_count([("kind", "=", "charge")])
    ms = [latency * 1000 for latency in latencies]
    print(f"charges: {len(latencies)} in {elapsed:.1f}s -> {len(latencies) / elapsed:.0f} charges/s")
    print(
        f"latency ms: p50 {statistics.median(ms):.1f}  p95 {percentile(ms, 0.95):.1f}  "
        f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}"
    )
    print(f"errors: {len(errors)} {errors[:3]}")
    print(f"charge entries (a charge split over subsidy and cash makes two): {count}")
    print(f"reconciliation difference: {differences or 0}")
    devstack.drop_database(db, DBNAME)
    return 1 if errors or differences else 0


if __name__ == "__main__":
    sys.exit(main())
