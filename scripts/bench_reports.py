#!/usr/bin/env python3
"""Benchmark of the canteen reports on a year of ledger entries.

Fills its own database (canteen_card, canteen_pos_bridge, canteen_report, no demo data) with
about 10 million ledger entries over a year by set-based SQL: 10,000 cardholders in 50
departments, 20 merchants, 4 meals a day, about six in ten meals taken, one charge in ten paid
from both wallets (two entries), a monthly top-up and subsidy grant per person. Then prints, for
each summary, the time to compute it for one month and for one year, as a report reader of the
company would (record rules on), and the time and peak memory to export one month of charge
details (about 800,000 rows) to XLSX.

Runs on PostgreSQL's durable defaults (fsync and synchronous_commit on). The database is dropped
afterwards unless --keep; --reuse skips the filling when the database is there.

    python3 scripts/bench_reports.py [--people 10000] [--days 365] [--keep] [--reuse]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

DBNAME = "canteen_bench_reports"
MODULES = "canteen_card,canteen_pos_bridge,canteen_report"
MERCHANTS = 20
DEPARTMENTS = 50
FIRST_DAY = date(2025, 1, 1)
# Meal windows in local (Asia/Shanghai) hours and the price range of each, in cents.
MEALS = (
    ("breakfast", 7, 300, 800),
    ("lunch", 12, 1000, 2500),
    ("dinner", 18, 800, 2000),
    ("late_night", 22, 500, 1200),
)


def rss_mb():
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(registry, people):
    """Cardholders, departments, merchants and a report reader, by the ORM; returns the ids."""
    from odoo import SUPERUSER_ID, api

    started = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = env.ref("base.main_company")
        company.partner_id.tz = "Asia/Shanghai"
        # A top-level department has a one-digit code: the 50 sit under one root.
        root = env["hr.department"].create({"name": "Bench", "company_id": company.id})
        departments = env["hr.department"].create(
            [
                {"name": f"Dept {i:02d}", "company_id": company.id, "parent_id": root.id}
                for i in range(DEPARTMENTS)
            ]
        )
        employees = env["hr.employee"].create(
            [
                {
                    "name": f"Bench {i:05d}",
                    "employee_no": f"R{i:05d}",
                    "company_id": company.id,
                    "department_id": departments[i % DEPARTMENTS].id,
                }
                for i in range(people)
            ]
        )
        merchants = env["canteen.merchant"].create(
            [{"name": f"Canteen {i:02d}", "company_id": company.id} for i in range(MERCHANTS)]
        )
        from odoo.addons.canteen_card.tools import ledger_core

        ledger_core.ensure_wallets(cr, employees.ids)
        reader = env["res.users"].create(
            {
                "name": "Report reader",
                "login": "bench_report_reader",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, [env.ref("canteen_report.group_report_reader").id])],
            }
        )
        cr.commit()
        devstack.say(f"{people} cardholders, {MERCHANTS} merchants in {time.monotonic() - started:.0f}s")
        return company.id, merchants.ids, reader.id


FILL = """
    WITH people AS (
        SELECT row_number() OVER (ORDER BY e.id) - 1 AS n, e.id, e.department_id,
               c.id AS cash, s.id AS subsidy
          FROM hr_employee e
          JOIN canteen_wallet c ON c.employee_id = e.id AND c.kind = 'cash'
          JOIN canteen_wallet s ON s.employee_id = e.id AND s.kind = 'subsidy'
         WHERE e.employee_no LIKE 'R%%'),
    meals AS (SELECT * FROM unnest(%(meal)s::varchar[], %(hour)s::int[], %(low)s::int[], %(high)s::int[])
                   WITH ORDINALITY AS m(kind, hour, low, high, k)),
    charges AS (
        SELECT p.*, m.kind AS meal, m.k, d.day,
               (d.day + make_interval(hours => m.hour - 8, mins => ((p.n * 7 + d.n) %% 50)::int))::timestamp
                   AS moment,
               (m.low + (p.n * 31 + d.n * 17 + m.k * 13) %% (m.high - m.low)) / 100.0 AS price,
               (p.n + d.n + m.k) %% 10 = 0 AS split
          FROM generate_series(%(first)s::date, %(last)s::date, '1 day') WITH ORDINALITY AS d(day, n)
         CROSS JOIN meals m
         CROSS JOIN people p
         WHERE (p.n * 7 + d.n * 13 + m.k * 31) %% 100 < 62)
    INSERT INTO canteen_ledger_entry
        (date, business_date, wallet_id, wallet_kind, employee_id, department_id, company_id, currency_id,
         kind, amount, balance_after, overdraft, charge_count, merchant_id, meal_kind, transaction_ref,
         create_uid, write_uid, create_date, write_date)
    SELECT c.moment, c.day::date, w.wallet, w.kind, c.id, c.department_id, %(company)s, %(currency)s,
           'charge', -w.amount, 0, FALSE, w.first,
           (%(merchants)s::int[])[(1 + (c.n + c.k) %% %(merchant_count)s)::int],
           c.meal, 'T' || to_char(c.day, 'YYYYMMDD') || lpad((c.n * 4 + c.k)::text, 8, '0'),
           1, 1, c.moment, c.moment
      FROM charges c
     CROSS JOIN LATERAL (
           SELECT c.subsidy AS wallet, 'subsidy' AS kind, round(c.price / 2, 2) AS amount, 1 AS first
            WHERE c.split
           UNION ALL
           SELECT c.cash, 'cash', CASE WHEN c.split THEN c.price - round(c.price / 2, 2) ELSE c.price END,
                  CASE WHEN c.split THEN 0 ELSE 1 END) AS w
"""
MONTHLY = """
    INSERT INTO canteen_ledger_entry
        (date, business_date, wallet_id, wallet_kind, employee_id, department_id, company_id, currency_id,
         kind, amount, balance_after, overdraft, charge_count, create_uid, write_uid, create_date, write_date)
    SELECT m.day + interval '1 hour', m.day::date, w.id, w.kind, e.id, e.department_id, %(company)s,
           %(currency)s, CASE w.kind WHEN 'cash' THEN 'topup' ELSE 'subsidy_grant' END,
           CASE w.kind WHEN 'cash' THEN 300 ELSE 200 END, 0, FALSE, 0, 1, 1, m.day, m.day
      FROM generate_series(%(first)s::date, %(last)s::date, '1 month') AS m(day)
     CROSS JOIN hr_employee e
      JOIN canteen_wallet w ON w.employee_id = e.id
     WHERE e.employee_no LIKE 'R%%'
"""


def fill(registry, company_id, merchant_ids, days):
    """The ledger entries, month by month, with the table's secondary indexes dropped meanwhile
    and rebuilt after (a bulk load, as a restore would do)."""
    started = time.monotonic()
    with registry.cursor() as cr:
        cr.execute("SELECT currency_id FROM res_company WHERE id = %s", [company_id])
        currency = cr.fetchone()[0]
        cr.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'canteen_ledger_entry' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        indexes = cr.fetchall()
        for name, _definition in indexes:
            cr.execute(f'DROP INDEX "{name}"')
        cr.commit()
        last = FIRST_DAY + timedelta(days=days - 1)
        params = {
            "company": company_id,
            "currency": currency,
            "merchants": merchant_ids,
            "merchant_count": len(merchant_ids),
            "meal": [m[0] for m in MEALS],
            "hour": [m[1] for m in MEALS],
            "low": [m[2] for m in MEALS],
            "high": [m[3] for m in MEALS],
        }
        cr.execute(MONTHLY, dict(params, first=FIRST_DAY, last=last))
        month = FIRST_DAY
        while month <= last:
            following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            cr.execute(FILL, dict(params, first=month, last=min(following - timedelta(days=1), last)))
            cr.commit()
            devstack.say(f"  {month:%Y-%m}: {time.monotonic() - started:.0f}s")
            month = following
        loaded = time.monotonic()
        for _name, definition in indexes:
            cr.execute(definition)
        cr.commit()
        indexed = time.monotonic()
        cr.execute("SELECT COUNT(*) FROM canteen_ledger_entry")
        total = cr.fetchone()[0]
    with registry.cursor() as cr:
        cr._cnx.autocommit = True  # VACUUM runs outside a transaction
        cr.execute("VACUUM ANALYZE canteen_ledger_entry")
    devstack.say(
        f"{total:,} ledger entries: loaded in {loaded - started:.0f}s, {len(indexes)} indexes rebuilt in "
        f"{indexed - loaded:.0f}s, vacuum {time.monotonic() - indexed:.0f}s"
    )
    return total


def timed(label, function, rounds=2):
    """The best of `rounds` runs (the first warms the cache), in seconds."""
    best, result = None, None
    for _round in range(rounds):
        began = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - began
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label:<48} {best:7.2f} s", flush=True)
    return best, result


def measure(registry, reader_id, days):
    from odoo import api

    figures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, reader_id, {})
        Report = env["canteen.report"].with_context(allowed_company_ids=env.user.company_ids.ids)
        month = {"date_from": date(2025, 3, 1), "date_to": date(2025, 3, 31)}
        year = {"date_from": FIRST_DAY, "date_to": FIRST_DAY + timedelta(days=days - 1)}
        for kind in ("daily_meal", "person_meal", "department_meal", "daily_topup", "merchant_day"):
            for period, filters in (("month", month), ("year", year)):
                figures[(kind, period)], table = timed(
                    f"{kind} ({period})", lambda k=kind, f=filters: Report._summary(k, f)
                )
                print(f"    rows {len(table['rows'])}, total {table['totals'][-1]}", flush=True)
        count = Report._detail_count("detail_charge", month)
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        before = rss_mb()
        began = time.perf_counter()
        env["canteen.report.export"].with_context(allowed_company_ids=env.user.company_ids.ids)._workbook(
            "detail_charge", month, target=path
        )
        elapsed = time.perf_counter() - began
        size = os.path.getsize(path) / 1e6
        os.unlink(path)
        after = rss_mb()
        print(
            f"XLSX export of one month of charge details: {count:,} rows in {elapsed:.1f} s, "
            f"{size:.0f} MB file; peak RSS of the process {after:.0f} MB (before the export {before:.0f} MB)",
            flush=True,
        )
        figures["xlsx"] = (count, elapsed, after, before)
    return figures


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database as it is")
    args = parser.parse_args()

    devstack.ensure_odoo()
    devstack.ensure_requirements()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    if not (args.reuse and devstack.database_exists(db, DBNAME)):
        devstack.install_database(db, DBNAME, MODULES)
        registry = devstack.open_registry(db, DBNAME)
        company_id, merchant_ids, _reader = setup(registry, args.people)
        fill(registry, company_id, merchant_ids, args.days)
    registry = devstack.open_registry(db, DBNAME)
    with registry.cursor() as cr:
        cr.execute("SELECT id FROM res_users WHERE login = 'bench_report_reader'")
        reader_id = cr.fetchone()[0]
        cr.execute(
            "SELECT COUNT(*), pg_size_pretty(pg_total_relation_size('canteen_ledger_entry')) "
            "FROM canteen_ledger_entry"
        )
        total, size = cr.fetchone()
    print(f"ledger: {total:,} entries, {size} with indexes", flush=True)
    measure(registry, reader_id, args.days)
    if not args.keep:
        from odoo.sql_db import close_db

        close_db(DBNAME)
        devstack.drop_database(db, DBNAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
