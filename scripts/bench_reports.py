#!/usr/bin/env python3
"""Benchmark of the canteen reports on a year of ledger entries.

Fills its own database (canteen_card, canteen_pos_bridge, canteen_report, no demo data) with
about 10 million ledger entries over a year, all by set-based SQL: 10,000 cardholders (resource,
employee, card and wallets: INSERT ... SELECT generate_series) in 50 departments, 20 merchants
with a terminal each, 4 meals a day, about six in ten meals taken, one charge in ten paid from
both wallets (two entries), a monthly top-up and subsidy grant per person. The entries go in
month by month (INSERT ... SELECT), each with its wallet's running balance, and the wallets'
balances move with them: every wallet's balance equals the sum of its entries (checked at the
end). As a restore does, the table's secondary indexes and foreign keys are dropped during the
load and put back after it (each foreign key checked by one join over the table, not by a
lookup per row), and the fill's session does not JIT-compile its statements. No journal
entries are made: the bench has no accounting side.

Then prints the time, CPU, file size and peak memory to export one month of charge details
(about 830,000 rows) to XLSX, and for each summary the time to compute it for one month and for
the whole period, as a report reader of the company would (record rules on), with the load
average next to each figure.

Runs on PostgreSQL's durable defaults (fsync and synchronous_commit on). The database is dropped
afterwards unless --keep; --reuse measures a kept database again; --fill-only fills and keeps it.
--entries N loads about N entries (fewer days, at least January to March); --stop-filling-at
HH:MM starts no month after that UTC time once January is in (a shorter year on a busy machine;
the month measured is then January).

    python3 scripts/bench_reports.py [--people 10000] [--days 365] [--entries N]
                                     [--stop-filling-at HH:MM] [--keep] [--reuse] [--fill-only]
"""

import argparse
import math
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devstack

DBNAME = "canteen_bench_reports"
SUMMARIES = ("daily_meal", "person_meal", "department_meal", "daily_topup", "merchant_day", "person_bill")
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
    """Departments, merchants, their terminals and a report reader by the ORM (a few records);
    the cardholders, their resources, cards and wallets by set-based SQL (the ORM took 35 minutes
    for 10,000 cardholders: hr makes an avatar per employee). Returns the ids."""
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
        merchants = env["canteen.merchant"].create(
            [{"name": f"Canteen {i:02d}", "company_id": company.id} for i in range(MERCHANTS)]
        )
        terminals = env["canteen.terminal"].create(
            [
                {
                    "name": f"POS {i:02d}",
                    "number": i + 1,
                    "serial": f"BENCH-{i:02d}",
                    "company_id": company.id,
                    "merchant_id": merchant.id,
                }
                for i, merchant in enumerate(merchants)
            ]
        )
        reader = env["res.users"].create(
            {
                "name": "Report reader",
                "login": "bench_report_reader",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, [env.ref("canteen_report.group_report_reader").id])],
            }
        )
        env.flush_all()
        cr.execute(
            CARDHOLDERS,
            {
                "people": people,
                "company": company.id,
                "calendar": company.resource_calendar_id.id,
                "departments": departments.ids,
            },
        )
        cr.execute("SELECT id FROM hr_employee WHERE employee_no LIKE 'R%%'")
        employee_ids = [row[0] for row in cr.fetchall()]
        from odoo.addons.canteen_card.tools import ledger_core

        ledger_core.ensure_wallets(cr, employee_ids)
        cr.commit()
        devstack.say(
            f"{len(employee_ids)} cardholders (SQL), {MERCHANTS} merchants and terminals in "
            f"{time.monotonic() - started:.0f}s"
        )
        return company.id, merchants.ids, terminals.ids, reader.id


# The cardholders: a resource, an employee, an active card each (NOT NULL columns of hr, resource
# and canteen_card filled with the ORM's defaults).
CARDHOLDERS = """
    WITH numbers AS (SELECT i FROM generate_series(0, %(people)s - 1) AS i),
    resources AS (
        INSERT INTO resource_resource (name, resource_type, tz, time_efficiency, active, company_id,
                                       calendar_id, create_uid, write_uid, create_date, write_date)
        SELECT 'Bench ' || lpad(i::text, 5, '0'), 'user', 'Asia/Shanghai', 100, TRUE, %(company)s,
               %(calendar)s, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM numbers
        RETURNING id, name),
    employees AS (
        INSERT INTO hr_employee (resource_id, name, company_id, active, employee_no, department_id,
                                 marital, distance_home_work_unit, employee_type, cardholder_state,
                                 resource_calendar_id, create_uid, write_uid, create_date, write_date)
        SELECT r.id, r.name, %(company)s, TRUE, 'R' || right(r.name, 5),
               (%(departments)s::int[])[1 + right(r.name, 5)::int %% cardinality(%(departments)s::int[])],
               'single', 'kilometers', 'employee', 'active', %(calendar)s, 1, 1,
               now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM resources r
        RETURNING id, employee_no)
    INSERT INTO canteen_card (employee_id, uid, kind, state, issue_date, company_id, root_company_id,
                              create_uid, write_uid, create_date, write_date)
    SELECT e.id, 'B' || substr(e.employee_no, 2) || '0000', 'physical', 'active', DATE '2024-12-01',
           %(company)s, %(company)s, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM employees e;
    UPDATE hr_employee e SET current_card_id = k.id, current_card_state = 'active'
      FROM canteen_card k
     WHERE k.employee_id = e.id AND e.employee_no LIKE 'R%%';
"""

# One month of entries: the top-up (cash) and the grant (subsidy) on its first morning, then the
# meals. Each entry's balance_after is its wallet's balance so far (a running sum over the wallet
# from the balance the month opens with), and the wallets' balances move by the month's sum in the
# same statement: a wallet's balance always equals the sum of its entries, as the ledger keeps it.
FILL = """
    WITH people AS (
        SELECT row_number() OVER (ORDER BY e.id) - 1 AS n, e.id, e.department_id, e.current_card_id AS card,
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
               round((m.low + (p.n * 31 + d.n * 17 + m.k * 13) %% (m.high - m.low)) / 100.0, 2) AS price,
               (p.n + d.n + m.k) %% 10 = 0 AS split,
               1 + (p.n + m.k) %% %(merchant_count)s AS shop
          FROM generate_series(%(first)s::date, %(last)s::date, '1 day') WITH ORDINALITY AS d(day, n)
         CROSS JOIN meals m
         CROSS JOIN people p
         WHERE (p.n * 7 + d.n * 13 + m.k * 31) %% 100 < 62),
    moves AS (
        SELECT c.moment AS date, c.day::date AS business_date, w.wallet, w.kind AS wallet_kind,
               c.id AS employee_id, c.department_id, 'charge' AS kind, -w.amount AS amount,
               w.first AS charge_count, (%(merchants)s::int[])[c.shop] AS merchant_id,
               (%(terminals)s::int[])[c.shop] AS terminal_id, c.card AS card_id, c.meal AS meal_kind,
               'T' || to_char(c.day, 'YYYYMMDD') || lpad((c.n * 4 + c.k)::text, 8, '0') AS ref
          FROM charges c
         CROSS JOIN LATERAL (
               SELECT c.subsidy AS wallet, 'subsidy' AS kind, round(c.price / 2, 2) AS amount, 1 AS first
                WHERE c.split
               UNION ALL
               SELECT c.cash, 'cash', CASE WHEN c.split THEN c.price - round(c.price / 2, 2) ELSE c.price END,
                      CASE WHEN c.split THEN 0 ELSE 1 END) AS w
        UNION ALL
        SELECT %(first)s::date - interval '2 hours', %(first)s::date, w.id, w.kind, p.id, p.department_id,
               CASE w.kind WHEN 'cash' THEN 'topup' ELSE 'subsidy_grant' END,
               CASE w.kind WHEN 'cash' THEN %(topup)s ELSE %(grant)s END, 0, NULL, NULL, NULL, NULL, NULL
          FROM people p
          JOIN canteen_wallet w ON w.id IN (p.cash, p.subsidy)),
    running AS (
        SELECT m.*, w.balance + SUM(m.amount) OVER (PARTITION BY m.wallet ORDER BY m.date, m.kind)
                    AS balance_after
          FROM moves m
          JOIN canteen_wallet w ON w.id = m.wallet),
    inserted AS (
        INSERT INTO canteen_ledger_entry
            (date, business_date, wallet_id, wallet_kind, employee_id, department_id, company_id,
             currency_id, kind, amount, balance_after, overdraft, charge_count, merchant_id, terminal_id,
             card_id, meal_kind, transaction_ref, create_uid, write_uid, create_date, write_date)
        SELECT m.date, m.business_date, m.wallet, m.wallet_kind, m.employee_id, m.department_id, %(company)s,
               %(currency)s, m.kind, m.amount, m.balance_after, m.balance_after < 0, m.charge_count,
               m.merchant_id, m.terminal_id, m.card_id, m.meal_kind, m.ref, 1, 1, m.date, m.date
          FROM running m
        RETURNING wallet_id, amount)
    UPDATE canteen_wallet w SET balance = w.balance + s.total
      FROM (SELECT wallet_id, SUM(amount) AS total FROM inserted GROUP BY wallet_id) s
     WHERE w.id = s.wallet_id
"""
# Cash topped up and subsidy granted each month, per person: a month's meals cost about 850.
TOPUP, GRANT = 900, 200


def entries_per_day(people):
    """About how many entries a day of meals makes (4 meals, 62 % taken, 1 in 10 split)."""
    return people * len(MEALS) * 0.62 * 1.1


def fill(registry, company_id, merchant_ids, terminal_ids, days, stop_at=None):  # noqa: PLR0917
    """The ledger entries, month by month, with the table's secondary indexes dropped meanwhile
    and rebuilt after (a bulk load, as a restore would do). No month is started after `stop_at`
    (a UTC datetime) once January is loaded: the year is then shorter, and the script says so."""
    started = time.monotonic()
    with registry.cursor() as cr:
        # Memory for the month's running-balance sort and for the index builds (this session
        # only; durability is untouched: fsync and synchronous_commit stay on).
        cr.execute("SET work_mem = '256MB'")
        cr.execute("SET maintenance_work_mem = '512MB'")
        # The planner expects millions of rows from generate_series and would JIT-compile each
        # month's statement: 10 s of compiling for a statement that runs in a few.
        cr.execute("SET jit = off")
        cr.execute("SELECT currency_id FROM res_company WHERE id = %s", [company_id])
        currency = cr.fetchone()[0]
        cr.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'canteen_ledger_entry' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        indexes = cr.fetchall()
        # The foreign keys too, as pg_restore does: checked row by row they cost a lookup per key
        # per row (ten a charge); added back after the load, each is checked by one join over the
        # whole table, and a dangling key fails the run.
        cr.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'canteen_ledger_entry'::regclass AND contype = 'f'"
        )
        foreign_keys = cr.fetchall()
        for name, _definition in indexes:
            cr.execute(f'DROP INDEX "{name}"')
        for name, _definition in foreign_keys:
            cr.execute(f'ALTER TABLE canteen_ledger_entry DROP CONSTRAINT "{name}"')
        cr.commit()
        last = FIRST_DAY + timedelta(days=days - 1)
        params = {
            "company": company_id,
            "currency": currency,
            "merchants": merchant_ids,
            "terminals": terminal_ids,
            "merchant_count": len(merchant_ids),
            "meal": [m[0] for m in MEALS],
            "hour": [m[1] for m in MEALS],
            "low": [m[2] for m in MEALS],
            "high": [m[3] for m in MEALS],
            "topup": TOPUP,
            "grant": GRANT,
        }
        month = FIRST_DAY
        while month <= last:
            if stop_at and month > FIRST_DAY and datetime.now(UTC) > stop_at:
                devstack.say(f"  stopped before {month:%Y-%m}: --stop-filling-at {stop_at:%H:%M} UTC passed")
                break
            following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = min(following - timedelta(days=1), last)
            cr.execute(FILL, dict(params, first=month, last=end))
            cr.commit()
            devstack.say(f"  {month:%Y-%m}: {time.monotonic() - started:.0f}s")
            month = following
        loaded = time.monotonic()
        for _name, definition in indexes:
            cr.execute(definition)
        cr.commit()
        indexed = time.monotonic()
        for name, definition in foreign_keys:
            cr.execute(f'ALTER TABLE canteen_ledger_entry ADD CONSTRAINT "{name}" {definition}')
        cr.commit()
        checked = time.monotonic()
        cr.execute("SELECT COUNT(*) FROM canteen_ledger_entry")
        total = cr.fetchone()[0]
        # The books: every wallet's balance is the sum of its entries.
        cr.execute(
            """SELECT COUNT(*) FROM canteen_wallet w
                 LEFT JOIN (SELECT wallet_id, SUM(amount) AS total FROM canteen_ledger_entry
                             GROUP BY wallet_id) s ON s.wallet_id = w.id
                WHERE w.balance <> COALESCE(s.total, 0)"""
        )
        drifting = cr.fetchone()[0]
    with registry.cursor() as cr:
        cr._cnx.autocommit = True  # VACUUM runs outside a transaction
        cr.execute("VACUUM ANALYZE canteen_ledger_entry")
    devstack.say(
        f"{total:,} ledger entries: loaded in {loaded - started:.0f}s, {len(indexes)} indexes rebuilt in "
        f"{indexed - loaded:.0f}s, {len(foreign_keys)} foreign keys added back and checked in "
        f"{checked - indexed:.0f}s, vacuum {time.monotonic() - checked:.0f}s; "
        f"wallets whose balance differs from their entries: {drifting}; {load()}"
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


def load():
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def export_xlsx(env, month):
    """One month of charge details to XLSX: wall and CPU time, rows, file size, peak RSS."""
    Report = env["canteen.report"].with_context(allowed_company_ids=env.user.company_ids.ids)
    count = Report._detail_count("detail_charge", month)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    before = rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    env["canteen.report.export"].with_context(allowed_company_ids=env.user.company_ids.ids)._workbook(
        "detail_charge", month, target=path
    )
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    size = os.path.getsize(path) / 1e6
    os.unlink(path)
    after = rss_mb()
    print(
        f"XLSX export of one month of charge details: {count:,} rows in {elapsed:.1f} s "
        f"(CPU of this process {cpu:.1f} s), {size:.0f} MB file; peak RSS of the process {after:.0f} MB "
        f"(before the export {before:.0f} MB); {load()}",
        flush=True,
    )
    return count, elapsed, after, before


def measure(registry, reader_id):
    """The XLSX export first (so the process's peak memory is the export's), then every report
    for March (January if the load stopped earlier) and for the whole period, best of two, as
    the report reader."""
    from odoo import api

    figures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, reader_id, {})
        Report = env["canteen.report"].with_context(allowed_company_ids=env.user.company_ids.ids)
        cr.execute("SELECT MAX(business_date) FROM canteen_ledger_entry")
        last = cr.fetchone()[0]
        year = {"date_from": FIRST_DAY, "date_to": last}
        # March, or January when the load was cut short before the end of March
        march = {"date_from": date(2025, 3, 1), "date_to": date(2025, 3, 31)}
        month = march if last >= march["date_to"] else {"date_from": FIRST_DAY, "date_to": date(2025, 1, 31)}
        print(f"period: {year['date_from']} to {year['date_to']}; {load()}", flush=True)
        figures["xlsx"] = export_xlsx(env, month)
        for kind in SUMMARIES:
            for period, filters in (("month", month), ("year", year)):
                figures[(kind, period)], table = timed(
                    f"{kind} ({period})", lambda k=kind, f=filters: Report._summary(k, f)
                )
                print(f"    rows {len(table['rows'])}, total {table['totals'][-1]}; {load()}", flush=True)
    return figures


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--entries",
        type=int,
        help="about this many entries instead of a year: fewer days (at least January to March)",
    )
    parser.add_argument(
        "--stop-filling-at",
        metavar="HH:MM",
        help="start no month after this UTC time (once January is in): a shorter year on a busy machine",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database as it is")
    parser.add_argument(
        "--fill-only", action="store_true", help="fill the database and stop (implies --keep)"
    )
    args = parser.parse_args()
    if args.entries:
        args.days = max(90, min(args.days, math.ceil(args.entries / entries_per_day(args.people))))
    if args.fill_only:
        args.keep = True

    devstack.ensure_odoo()
    devstack.ensure_requirements()
    db, _cluster = devstack.ensure_postgres("pg", durable=True)
    devstack.require_durability(db)
    if not (args.reuse and devstack.database_exists(db, DBNAME)):
        devstack.install_database(db, DBNAME, MODULES)
    registry = devstack.open_registry(db, DBNAME)
    with registry.cursor() as cr:
        cr.execute("SELECT 1 FROM res_users WHERE login = 'bench_report_reader'")
        filled = bool(cr.fetchone())
    if not filled:  # a fresh database (or a kept one whose set-up failed: it committed nothing)
        company_id, merchant_ids, terminal_ids, _reader = setup(registry, args.people)
        stop_at = None
        if args.stop_filling_at:
            hour, minute = map(int, args.stop_filling_at.split(":"))
            stop_at = datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
        fill(registry, company_id, merchant_ids, terminal_ids, args.days, stop_at)
    if args.fill_only:
        return 0
    with registry.cursor() as cr:
        cr.execute("SELECT id FROM res_users WHERE login = 'bench_report_reader'")
        reader_id = cr.fetchone()[0]
        cr.execute(
            "SELECT COUNT(*), pg_size_pretty(pg_total_relation_size('canteen_ledger_entry')) "
            "FROM canteen_ledger_entry"
        )
        total, size = cr.fetchone()
    print(f"ledger: {total:,} entries, {size} with indexes", flush=True)
    measure(registry, reader_id)
    if not args.keep:
        from odoo.sql_db import close_db

        close_db(DBNAME)
        devstack.drop_database(db, DBNAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
