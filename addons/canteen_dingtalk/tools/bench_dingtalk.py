"""Benchmark of canteen_dingtalk against the fake DingTalk (a script, not a test).

    python3 addons/canteen_dingtalk/tools/bench_dingtalk.py -d <database> [-c odoo.conf]

1. A first sync of --people people in --departments departments, then a second sync (no
   change), against tools/fake_dingtalk.py on 127.0.0.1.
2. Ledger charges per second with balance messages off, then on (the charge path is the same
   code: messages are enqueued from committed entries by the cron), then the cron's enqueue
   and send rates for those charges.
3. The message cron at a peak of distinct messages (--messages charges, each its own message):
   enqueue and render, send, and messages per second end to end (--repeat rounds; median, min).
   --only-messages runs this part alone.

Everything runs in one transaction that is rolled back: the database is left as it was.
"""

import argparse
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def build_organisation(fake, people, departments):
    top = max(1, departments // 10)
    dept_ids = []
    for index in range(departments - 1):
        dept_id = 1000 + index
        parent = 1 if index < top else 1000 + (index % top)
        fake.add_department(dept_id, f"Bench Department {index}", parent_id=parent)
        dept_ids.append(dept_id)
    for index in range(people):
        fake.add_user(
            f"bench-{index:06d}",
            f"Bench Person {index}",
            [dept_ids[index % len(dept_ids)]],
            mobile=f"139{index:08d}",
            job_number=f"BN{index:06d}",
        )


def bench_sync(env, fake, args):
    company = env["res.company"].create({"name": "DingTalk Benchmark"})
    company.write({"dingtalk_app_key": fake.app_key, "dingtalk_app_secret": fake.app_secret})
    build_organisation(fake, args.people, args.departments)
    Run = env["canteen.dingtalk.sync.run"]
    for label in ("first sync", "second sync (no change)"):
        started = time.perf_counter()
        run = Run._sync_company(company, "manual")
        env.flush_all()
        elapsed = time.perf_counter() - started
        say(
            f"{label}: {args.people} people in {args.departments} departments in {elapsed:.1f} s "
            f"({args.people / elapsed:.0f} people/s); created {run.employees_created}, "
            f"updated {run.employees_updated}, {run.api_calls} API calls, state {run.state}"
        )


def bench_charges(env, fake, args):
    cards = env["canteen.card"].search([("state", "=", "active")], limit=50)
    cardholders = cards.employee_id.filtered(lambda e: e.cardholder_state == "active")
    merchants = env["canteen.merchant"].search([])
    pairs = []
    for employee in cardholders:
        merchant = merchants.filtered(lambda m, e=employee: m.company_id in e.company_id.parent_ids)[:1]
        if merchant:
            pairs.append((employee, merchant))
    if not pairs:
        say("charges: no cardholder with an active card and a merchant (load the demo data)")
        return
    for company in cardholders.company_id:
        company.write(
            {
                "dingtalk_app_key": fake.app_key,
                "dingtalk_app_secret": fake.app_secret,
                "dingtalk_agent_id": "1",
            }
        )
    for employee in cardholders:
        employee.dingtalk_userid = f"bench-holder-{employee.id}"
    Ledger, Message = env["canteen.ledger"], env["canteen.dingtalk.message"]
    Message._enqueue_new_entries(limit=10**6)  # entries from before the benchmark
    # Off, on, off again: the rounds share one growing transaction, so order alone moves figures.
    for label, notify in (("messages off", False), ("messages on", True), ("messages off again", False)):
        cardholders.company_id.write({"dingtalk_notify": notify})
        started = time.perf_counter()
        for index in range(args.charges):
            employee, merchant = pairs[index % len(pairs)]
            Ledger._charge(employee, Decimal("0.01"), merchant=merchant, allow_overdraft=True)
        env.flush_all()
        elapsed = time.perf_counter() - started
        say(f"ledger charges, {label}: {args.charges / elapsed:.0f} approved/s")
        started = time.perf_counter()
        queued = Message._enqueue_new_entries(limit=10**6)
        env.flush_all()
        enqueue = time.perf_counter() - started
        started = time.perf_counter()
        sent = 0
        while True:
            batch = Message._send_pending()
            sent += len(batch)
            if not batch:
                break
        send = time.perf_counter() - started
        say(
            f"  cron: {args.charges} entries enqueued into {len(queued)} rows in {enqueue:.2f} s, "
            f"{sent} messages sent to the fake in {send:.2f} s"
        )


def bench_message_cron(env, fake, args):
    """The message cron on a meal peak of distinct messages: --messages charges, each person's
    11 s apart (so each is a message of its own, as at a peak of different people), then the
    cron's enqueue and render, then its sends to the fake; --repeat times."""
    cards = env["canteen.card"].search([("state", "=", "active")], limit=200)
    cardholders = cards.employee_id.filtered(lambda e: e.cardholder_state == "active")
    merchants = env["canteen.merchant"].search([])
    pairs = [
        (employee, merchant)
        for employee in cardholders
        for merchant in merchants.filtered(lambda m, e=employee: m.company_id in e.company_id.parent_ids)[:1]
    ]
    if not pairs:
        say("message cron: no cardholder with an active card and a merchant (load the demo data)")
        return
    for company in cardholders.company_id:
        company.write(
            {
                "dingtalk_app_key": fake.app_key,
                "dingtalk_app_secret": fake.app_secret,
                "dingtalk_agent_id": "1",
                "dingtalk_notify": True,
            }
        )
    for employee in cardholders:
        employee.dingtalk_userid = f"bench-holder-{employee.id}"
    Ledger, Message = env["canteen.ledger"], env["canteen.dingtalk.message"]
    Message._enqueue_new_entries(limit=10**6)  # entries from before the benchmark
    while Message._send_pending():
        pass
    rates = []
    for repetition in range(args.repeat):
        start = datetime.now() - timedelta(days=repetition + 1)
        for index in range(args.messages):
            employee, merchant = pairs[index % len(pairs)]
            date = start + timedelta(seconds=11 * (index // len(pairs)))
            Ledger._charge(employee, Decimal("0.01"), merchant=merchant, date=date, allow_overdraft=True)
        env.flush_all()
        started = time.perf_counter()
        queued = Message._enqueue_new_entries(limit=10**6)
        env.flush_all()
        enqueue = time.perf_counter() - started
        started, calls_before = time.perf_counter(), len(fake.messages)
        while Message._send_pending():
            pass
        env.flush_all()
        send = time.perf_counter() - started
        calls = fake.messages[calls_before:]
        # A call carries one person, or several who get the very same text.
        sent = sum(len(call["userid_list"].split(",")) for call in calls)
        rates.append(sent / (enqueue + send))
        say(
            f"message cron {repetition + 1}: {args.messages} charges of {len(pairs)} people enqueued and "
            f"rendered into {len(queued)} messages in {enqueue:.2f} s ({len(queued) / enqueue:.0f}/s), "
            f"{sent} sent in {len(calls)} calls in {send:.2f} s ({sent / send:.0f}/s): "
            f"{rates[-1]:.1f} messages/s end to end"
        )
    rates.sort()
    say(f"message cron: median {rates[len(rates) // 2]:.1f}, min {rates[0]:.1f} messages/s end to end")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-c", "--config", default=str(ROOT / "odoo.conf"))
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--departments", type=int, default=100)
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=1000, help="charges of the message-cron round")
    parser.add_argument("--repeat", type=int, default=3, help="message-cron rounds")
    parser.add_argument("--only-messages", action="store_true", help="the message cron only")
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(
        ["-c", args.config, "-d", args.database, f"--addons-path={ROOT / 'addons'}", "--log-level=warn"]
    )
    # Run as a script: the addon is imported by its absolute name once Odoo is configured.
    from odoo.addons.canteen_dingtalk.tools.client import (  # pylint: disable=odoo-addons-relative-import
        clear_token_cache,
    )
    from odoo.addons.canteen_dingtalk.tools.fake_dingtalk import (  # pylint: disable=odoo-addons-relative-import
        FakeDingTalk,
    )

    registry = odoo.modules.registry.Registry(args.database)
    fake = FakeDingTalk().start()
    clear_token_cache()
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            params = env["ir.config_parameter"]
            for key in ("api_base", "oapi_base"):
                params.set_param(f"canteen_dingtalk.{key}", fake.base_url)
            try:
                if args.people and not args.only_messages:
                    bench_sync(env, fake, args)
                if not args.only_messages:
                    bench_charges(env, fake, args)
                bench_message_cron(env, fake, args)
            finally:
                cr.rollback()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
