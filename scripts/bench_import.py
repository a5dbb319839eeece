#!/usr/bin/env python3
"""Benchmark of the Excel top-up import: a generated N-row .xlsx (cash for everyone, subsidy for
every other person, in both subsidy modes) imported into a fresh database through the import
wizard, as an operator would. Prints the import time (target: under 20 s for 10,000 rows), then
imports the same file again (it must be refused and change nothing) and prints the
reconciliation difference, which must be 0.

Runs on PostgreSQL's durable defaults, like scripts/bench_ledger.py.

    python3 scripts/bench_import.py [--rows 10000]
"""

import argparse
import base64
import io
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

DBNAME = "canteen_bench_import"
HEADER = ["部门", "工号", "姓名", "卡号", "现金", "补贴", "补贴方式", "补贴有效日期", "导入版本号"]


def create_cardholders(registry, count):
    from odoo import SUPERUSER_ID, api

    started = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        devstack.bench_cardholders(env, count, lambda i: f"{100000 + i}")
        cr.commit()
    devstack.say(f"{count} cardholders with cards in {time.monotonic() - started:.1f}s")


def topup_file(count):
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for i in range(count):
        subsidy = 30 if i % 2 else 0
        mode = "清零" if i % 4 == 1 else 1
        sheet.append(
            ["", f"{100000 + i}", f"Bench {i:05d}", "", 100 + i % 50 + 0.25, subsidy, mode, "2099-12-31", 1]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_import(registry, content):
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        wizard = env["canteen.topup.import.wizard"].create(
            {"file": base64.b64encode(content), "filename": "bench.xlsx"}
        )
        started = time.monotonic()
        try:
            wizard.action_import()
            cr.commit()
            refused = None
        except Exception as error:  # the second import must be refused
            cr.rollback()
            refused = str(error).splitlines()[0]
        return time.monotonic() - started, refused


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()

    devstack.ensure_odoo()
    devstack.ensure_requirements()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    devstack.install_database(db, DBNAME, "canteen_card")
    registry = devstack.open_registry(db, DBNAME)
    # The second import is refused on purpose: no need for its traceback in the log.
    logging.getLogger("odoo.sql_db").setLevel(logging.CRITICAL)
    create_cardholders(registry, args.rows)
    content = topup_file(args.rows)
    devstack.say(f"Top-up file: {args.rows} rows, {len(content) / 1024:.0f} KiB")

    elapsed, refused = run_import(registry, content)
    print(f"import of {args.rows} rows: {elapsed:.1f}s ({args.rows / elapsed:.0f} rows/s)", flush=True)
    again, refused_again = run_import(registry, content)
    print(f"same file again: refused in {again:.1f}s: {refused_again}", flush=True)

    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        differences = env["canteen.reconciliation"]._differences()
        entries = env["canteen.ledger.entry"].search_count([])
        logs = env["canteen.operation.log"].search_count([])
    print(f"ledger entries: {entries}, operation log lines: {logs}")
    print(f"reconciliation difference: {differences or 0}")
    devstack.drop_database(db, DBNAME)
    return 1 if refused or not refused_again or differences else 0


if __name__ == "__main__":
    sys.exit(main())
