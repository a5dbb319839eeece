"""The bridge as a real process against the test database: every endpoint, every decline
reason and authentication error of protocol v1, idempotency, dedup, rules, offline uploads,
concurrency on one wallet, long polls and a flood of malformed requests."""

import datetime
import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytz
from bridge_harness import BridgeProcess, load_simulator
from conftest import environment

SIMULATOR = load_simulator()


# The site's canteen serves one meal all day, so no test depends on the clock's meal boundaries.
SITE_MEAL = "lunch"


def current_meal():
    return SITE_MEAL


@pytest.fixture(scope="module")
def site(odoo_registry):
    with environment(odoo_registry) as env:
        return SIMULATOR.provision(
            env,
            dedup_window=0,
            terminals=5,
            cardholders=40,
            modes=("free", "free", "fixed", "count", "menu"),
            meal_periods=[(SITE_MEAL, 0, 24)],
        )


@pytest.fixture(scope="module")
def bridge():
    process = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    yield process
    assert process.stop() == 0, "SIGTERM ends the bridge cleanly"


class Holders:
    """Hands out a fresh cardholder per use, so tests never share a wallet."""

    def __init__(self, site):
        self.site, self.next = site, 0

    def take(self):
        holder = self.site["cardholders"][self.next]
        self.next += 1
        return holder


@pytest.fixture(scope="module")
def holders(site):
    return Holders(site)


def card(holder):
    return {"type": "card", "value": holder["card"]}


def counts(registry):
    with environment(registry) as env:
        env.cr.execute(
            "SELECT (SELECT count(*) FROM canteen_transaction), (SELECT count(*) FROM canteen_ledger_entry)"
        )
        return env.cr.fetchone()


def books_balance(registry):
    with environment(registry) as env:
        return env["canteen.reconciliation"]._differences()


# ---------------------------------------------------------------------------------------------
def test_health_needs_no_authentication(bridge):
    status, answer = bridge.client({"serial": "-", "secret": "-"}).health()
    assert (status, answer) == (200, {"status": "ok", "database": "ok"})


def test_approved_charge_in_every_identity(bridge, site, holders):
    client = bridge.client(site["terminals"][0])
    holder = holders.take()
    for identity in (
        card(holder),
        {"type": "face", "value": holder["face"]},
        {"type": "employee", "value": holder["employee_no"]},
    ):
        status, answer = client.charge(identity, "2.50")
        assert status == 200 and answer["status"] == "approved", answer
        assert answer["charged"] == "2.50" and answer["meal"] == current_meal()
        assert answer["cardholder"]["employee_no"] == holder["employee_no"]
        assert answer["transaction_id"].startswith("T")
    assert answer["balances"] == {"cash": "92.50", "subsidy": "0.00"}
    status, answer = client.balance(card(holder))
    assert status == 200 and answer["balances"]["cash"] == "92.50" and answer["card_status"] == "active"


def test_modes_fixed_count_and_menu(bridge, site, holders):
    fixed, count, menu = (bridge.client(t) for t in site["terminals"][2:5])
    holder = holders.take()
    assert fixed.charge(card(holder))[1]["charged"] == "12.00"
    assert count.charge(card(holder))[1]["charged"] == "0.00"
    status, answer = menu.charge(
        card(holder), items=[{"product": "MEAT", "qty": 2}, {"product": "RICE", "qty": 1}]
    )
    assert status == 200 and answer["charged"] == "19.00"
    assert answer["balances"]["cash"] == "69.00"
    status, answer = menu.charge(card(holder), items=[{"product": "CAVIAR", "qty": 1}])
    assert status == 400 and "CAVIAR" in answer["detail"]


def test_authentication_errors(bridge, site, odoo_registry):
    terminal = site["terminals"][0]
    client = bridge.client(terminal)
    assert client.request("GET", "/api/v1/commands?cursor=0&wait=0", headers={"X-Canteen-Terminal": "NOPE"})[
        1
    ] == {"error": "unknown_terminal"}
    assert bridge.client({"serial": terminal["serial"], "secret": "wrong"}).commands()[1] == {
        "error": "bad_signature"
    }
    assert client.request("GET", "/api/v1/commands?cursor=0&wait=0", timestamp=int(time.time()) - 301)[1] == {
        "error": "clock_skew"
    }
    nonce = "n" * 20
    assert client.request("GET", "/api/v1/commands?cursor=0&wait=0", nonce=nonce)[0] == 200
    assert client.request("GET", "/api/v1/commands?cursor=0&wait=0", nonce=nonce) == (
        401,
        {"error": "replayed_nonce"},
    )
    with environment(odoo_registry) as env:
        disabled = env["canteen.terminal"].create(
            {
                "name": "Off",
                "number": 99,
                "serial": f"OFF-{terminal['serial']}",
                "company_id": site["company_id"],
                "merchant_id": site["merchant_id"],
                "enabled": False,
            }
        )
        off = {"serial": disabled.serial, "secret": disabled.sudo().secret}
        env.cr.commit()
    status, answer = bridge.client(off).commands()
    assert (status, answer) == (401, {"error": "terminal_disabled"})


def test_every_decline_reason(bridge, site, holders, odoo_registry):
    client = bridge.client(site["terminals"][0])
    kind = current_meal()
    assert client.charge({"type": "card", "value": "NO-SUCH-CARD"}, "1.00")[1]["reason"] == "unknown_identity"
    assert client.charge(card(holders.take()), "100.01")[1]["reason"] == "insufficient_funds"
    lost, cancelled, expired, counted, capped, daily, forbidden = (holders.take() for _n in range(7))
    with environment(odoo_registry) as env:
        Employee, Group = env["hr.employee"], env["canteen.rule.group"]

        def person(holder):
            return Employee.browse(holder["employee_id"])

        person(lost).current_card_id.action_report_loss()
        person(cancelled).current_card_id._set_state("cancelled")
        person(expired).current_card_id.expiry_date = datetime.date.today() - datetime.timedelta(days=1)
        for holder, rule in (
            (counted, {"count_limit": 1}),
            (capped, {"amount_limit": 10}),
            (forbidden, {"allowed": False}),
        ):
            person(holder).rule_group_id = Group.create(
                {
                    "name": f"R {holder['employee_no']}",
                    "company_id": site["company_id"],
                    "rule_ids": [(0, 0, dict(rule, meal_kind=kind))],
                }
            )
        person(daily).rule_group_id = Group.create(
            {"name": "Daily", "company_id": site["company_id"], "daily_amount_limit": 10}
        )
        homeless = env["canteen.terminal"].create(
            {
                "name": "Nowhere",
                "number": 98,
                "serial": f"NOWHERE-{site['company_id']}",
                "company_id": site["company_id"],
            }
        )
        homeless_terminal = {"serial": homeless.serial, "secret": homeless.sudo().secret}
        env.cr.commit()
    time.sleep(0.1)
    assert client.charge(card(lost), "1.00")[1]["reason"] == "card_lost"
    assert client.charge(card(cancelled), "1.00")[1]["reason"] == "card_cancelled"
    assert client.charge(card(expired), "1.00")[1]["reason"] == "card_expired"
    assert client.charge(card(counted), "1.00")[1]["status"] == "approved"
    assert client.charge(card(counted), "1.00")[1]["reason"] == "count_limit"
    assert client.charge(card(capped), "8.00")[1]["status"] == "approved"
    assert client.charge(card(capped), "2.01")[1]["reason"] == "amount_limit"
    assert client.charge(card(daily), "8.00")[1]["status"] == "approved"
    assert client.charge(card(daily), "2.01")[1]["reason"] == "daily_limit"
    assert client.charge(card(forbidden), "1.00")[1]["reason"] == "outside_meal_period"
    homeless_client = bridge.client(homeless_terminal)
    assert homeless_client.charge(card(holders.take()), "1.00")[1]["reason"] == "not_allowed_here"


def test_discount_of_the_meal_rule(bridge, site, holders, odoo_registry):
    holder = holders.take()
    with environment(odoo_registry) as env:
        env["hr.employee"].browse(holder["employee_id"]).rule_group_id = env["canteen.rule.group"].create(
            {
                "name": "Staff 20%",
                "company_id": site["company_id"],
                "rule_ids": [(0, 0, {"meal_kind": current_meal(), "discount_percent": 20})],
            }
        )
        env.cr.commit()
    answer = bridge.client(site["terminals"][0]).charge(card(holder), "12.50")[1]
    assert (answer["charged"], answer["discount"]) == ("10.00", "2.50")


def test_outside_every_meal_window(bridge, site, holders, odoo_registry):
    """A merchant whose only window is not now declines outside_meal_period."""
    with environment(odoo_registry) as env:
        merchant = env["canteen.merchant"].create({"name": "Night owl", "company_id": site["company_id"]})
        hour = datetime.datetime.now(pytz.timezone("Asia/Shanghai")).hour
        start = (hour + 2) % 22
        env["canteen.meal.period"].create(
            {"merchant_id": merchant.id, "kind": "late_night", "hour_from": start, "hour_to": start + 1}
        )
        terminal = env["canteen.terminal"].create(
            {
                "name": "Owl",
                "number": 97,
                "serial": f"OWL-{site['company_id']}",
                "company_id": site["company_id"],
                "merchant_id": merchant.id,
            }
        )
        owl = {"serial": terminal.serial, "secret": terminal.sudo().secret}
        env.cr.commit()
    assert bridge.client(owl).charge(card(holders.take()), "1.00")[1]["reason"] == "outside_meal_period"


def test_same_request_twice_and_concurrently_twice(bridge, site, holders, odoo_registry):
    client = bridge.client(site["terminals"][1])
    holder = holders.take()
    first = client.charge(card(holder), "5.00", seq=7001)[1]
    again = client.charge(card(holder), "5.00", seq=7001)[1]
    assert first["replayed"] is False and again["replayed"] is True
    assert again["transaction_id"] == first["transaction_id"] and again["charged"] == "5.00"
    clients = [bridge.client(site["terminals"][1]) for _n in range(2)]
    barrier = threading.Barrier(2)

    def send(c):
        barrier.wait()
        return c.charge(card(holder), "5.00", seq=7002)[1]

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, clients))
    assert sorted(a["replayed"] for a in answers) == [False, True]
    assert answers[0]["transaction_id"] == answers[1]["transaction_id"]
    assert client.balance(card(holder))[1]["balances"]["cash"] == "90.00"


def test_dedup_window_across_two_terminals(bridge, odoo_registry):
    with environment(odoo_registry) as env:
        other = SIMULATOR.provision(
            env, dedup_window=60, terminals=3, cardholders=2, modes=("fixed", "fixed", "free")
        )
    first_terminal, second_terminal, till = (bridge.client(t) for t in other["terminals"])
    holder = other["cardholders"][0]
    first = first_terminal.charge(card(holder))[1]
    second = second_terminal.charge({"type": "face", "value": holder["face"]})[1]
    assert first["charged"] == "12.00" and not first["deduplicated"]
    assert second["status"] == "approved" and second["deduplicated"] is True and second["charged"] == "0.00"
    assert second["original_transaction_id"] == first["transaction_id"]
    assert second["balances"]["cash"] == "88.00"
    # Dedup is for automatic terminals: an amount typed at a till is charged, whenever it comes.
    typed = till.charge(card(holder), "6.00")[1]
    assert typed["charged"] == "6.00" and not typed["deduplicated"]
    assert typed["balances"]["cash"] == "82.00"


def test_offline_upload_duplicates_overdraft_and_after_loss(bridge, site, holders, odoo_registry):
    client = bridge.client(site["terminals"][0])
    rich, poor, loser, leaver = holders.take(), holders.take(), holders.take(), holders.take()
    now = datetime.datetime.now(datetime.UTC)
    earlier = (now - datetime.timedelta(minutes=30)).isoformat()
    with environment(odoo_registry) as env:
        env["hr.employee"].browse(leaver["employee_id"])._canteen_cancel(card_cost=0)
        env["hr.employee"].browse(loser["employee_id"]).current_card_id.action_report_loss()
        env.cr.execute(
            "UPDATE canteen_card SET lost_at = now() AT TIME ZONE 'UTC' - interval '1 hour' "
            "WHERE employee_id = %s",
            [loser["employee_id"]],
        )
        env.cr.commit()
    records = [
        {"seq": 9001, "identity": card(rich), "amount": "8.00", "occurred_at": earlier},
        {"seq": 9002, "identity": card(poor), "amount": "150.00", "occurred_at": earlier},
        {"seq": 9003, "identity": card(loser), "amount": "5.00", "occurred_at": earlier},
        {
            "seq": 9004,
            "identity": {"type": "card", "value": "NOBODY"},
            "amount": "5.00",
            "occurred_at": earlier,
        },
        {
            "seq": 9005,
            "identity": card(rich),
            "amount": "1.00",
            "occurred_at": (now - datetime.timedelta(days=8)).isoformat(),
        },
        {
            "seq": 9006,
            "identity": card(rich),
            "amount": "1.00",
            "occurred_at": (now + datetime.timedelta(hours=1)).isoformat(),
        },
        {"seq": 9007, "identity": card(leaver), "amount": "7.00", "occurred_at": earlier},
    ]
    status, answer = client.offline(records)
    assert status == 200, answer
    results = {r["seq"]: r for r in answer["results"]}
    assert results[9001]["status"] == "accepted" and not results[9001]["overdraft"]
    assert results[9002]["status"] == "accepted" and results[9002]["overdraft"] is True
    assert results[9003]["status"] == "accepted" and results[9003]["after_loss"] is True
    assert results[9004]["status"] == "rejected" and results[9004]["reason"] == "unknown_identity"
    assert [results[seq]["reason"] for seq in (9005, 9006)] == ["invalid_time", "invalid_time"]
    assert results[9007]["status"] == "accepted" and results[9007]["exception"] is True
    with environment(odoo_registry) as env:
        queued = env["canteen.transaction"].search([("name", "=", results[9007]["transaction_id"])])
        assert (queued.status, queued.exception_state, queued.charged) == ("exception", "open", 0)
        assert env["hr.employee"].browse(leaver["employee_id"]).cash_balance == 0
    status, again = client.offline(records[:2])
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert client.balance(card(poor))[1]["balances"]["cash"] == "-50.00"
    # One seq twice in an upload (another person the second time): recorded once.
    twice = [
        {"seq": 9100, "identity": card(rich), "amount": "1.00", "occurred_at": earlier},
        {"seq": 9100, "identity": card(loser), "amount": "1.00", "occurred_at": earlier},
    ]
    status, answer = client.offline(twice)
    assert status == 200 and [r["status"] for r in answer["results"]] == ["accepted", "duplicate"], answer
    assert client.offline([])[0] == 400
    assert client.offline([{"seq": 1}] * 1001)[0] == 400


def test_large_offline_upload_in_parts_side_by_side_exactly_once(bridge, odoo_registry):
    """An upload large enough to be written in parts on two connections (bridge
    upload_side_by_side): one person under two identities (card and employee number, which may
    fall in different parts), a seq twice, a person's records charged in order; every record
    once, and again only `duplicate`."""
    large_offline_upload(bridge, odoo_registry)


def test_large_offline_upload_without_a_spare_connection(odoo_registry):
    """With no connection to spare (a pool of one), the parts are written one after the other in
    the request's own transaction: the same answers."""
    alone = BridgeProcess(os.environ["CANTEEN_TEST_DB"], pool_size=1).start()
    try:
        large_offline_upload(alone, odoo_registry)
    finally:
        assert alone.stop() == 0


def large_offline_upload(bridge, odoo_registry):
    with environment(odoo_registry) as env:
        setup = SIMULATOR.provision(
            env, dedup_window=0, terminals=1, cardholders=10, balance="100.00", modes=("free",)
        )
    client = bridge.client(setup["terminals"][0])
    people = setup["cardholders"]
    earlier = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)).isoformat()
    records = [
        {"seq": 70_000 + n, "identity": card(people[n % 10]), "amount": "0.10", "occurred_at": earlier}
        for n in range(600)
    ]
    records += [
        {
            "seq": 71_000 + n,
            "identity": {"type": "employee", "value": people[0]["employee_no"]},
            "amount": "0.10",
            "occurred_at": earlier,
        }
        for n in range(20)
    ]
    # The first record's seq again, for another person: a duplicate of the first, charged once.
    records.append({"seq": 70_000, "identity": card(people[5]), "amount": "9.00", "occurred_at": earlier})
    before = counts(odoo_registry)
    status, answer = client.offline(records)
    assert status == 200, answer
    statuses = [result["status"] for result in answer["results"]]
    assert statuses == ["accepted"] * 620 + ["duplicate"], {s: statuses.count(s) for s in set(statuses)}
    assert answer["results"][-1]["transaction_id"] == answer["results"][0]["transaction_id"]
    assert counts(odoo_registry) == (before[0] + 620, before[1] + 620)
    balances = [client.balance(card(person))[1]["balances"]["cash"] for person in people]
    assert balances == ["92.00"] + ["94.00"] * 9
    with environment(odoo_registry) as env:
        # Each person's entries follow one another: every balance_after is the one before less 0.10.
        env.cr.execute(
            """SELECT employee_id, array_agg(balance_after ORDER BY id) FROM canteen_ledger_entry
                WHERE employee_id = ANY(%s) AND kind = 'charge' GROUP BY employee_id""",
            [[person["employee_id"] for person in people]],
        )
        for _employee, after in env.cr.fetchall():
            assert [round(a - b, 2) for a, b in itertools.pairwise(after)] == [0.1] * (len(after) - 1)
    status, again = client.offline(records)
    assert status == 200 and {r["status"] for r in again["results"]} == {"duplicate"}
    assert counts(odoo_registry) == (before[0] + 620, before[1] + 620)
    assert books_balance(odoo_registry) == {}


def test_200_concurrent_charges_on_a_wallet_that_pays_100(bridge, site, odoo_registry):
    with environment(odoo_registry) as env:
        setup = SIMULATOR.provision(
            env, dedup_window=0, terminals=4, cardholders=1, balance="100.00", modes=("free",)
        )
    holder = setup["cardholders"][0]
    clients = [bridge.client(setup["terminals"][n % 4]) for n in range(200)]

    def spend(n):
        return clients[n].charge(card(holder), "1.00", seq=100_000 + n)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(spend, range(200)))
    statuses = [a["status"] for code, a in answers if code == 200]
    assert len(statuses) == 200, [a for code, a in answers if code != 200][:3]
    assert statuses.count("approved") == 100
    assert {a["reason"] for _c, a in answers if a["status"] == "declined"} == {"insufficient_funds"}
    assert clients[0].balance(card(holder))[1]["balances"]["cash"] == "0.00"
    with environment(odoo_registry) as env:
        charges = env["canteen.ledger.entry"].search(
            [("employee_id", "=", holder["employee_id"]), ("kind", "=", "charge")]
        )
        assert len(charges) == 100 and sum(charges.mapped("amount")) == -100
    assert books_balance(odoo_registry) == {}


def test_long_poll_wakes_on_a_new_command_and_acks(bridge, site, odoo_registry):
    terminal = site["terminals"][3]
    client = bridge.client(terminal)
    cursor = client.commands(0, 0)[1]["cursor"]
    result = {}

    def poll():
        started = time.monotonic()
        result["answer"] = client.commands(cursor, 20)
        result["seconds"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.0)
    with environment(odoo_registry) as env:
        target = env["canteen.terminal"].browse(terminal["id"])
        env["canteen.terminal.command"]._enqueue(target, "params.update", {"same_card_interval": 5})
        env.cr.commit()
        queued_at = time.monotonic()
    poller.join(25)
    status, answer = result["answer"]
    assert status == 200 and [c["type"] for c in answer["commands"]] == ["params.update"]
    assert result["seconds"] < 19, "the NOTIFY ended the wait"
    assert time.monotonic() - queued_at < 5
    position = answer["commands"][0]["id"]  # ids are delivery positions
    assert answer["cursor"] == position
    assert client.ack([{"id": position, "ok": False, "error": "photo_too_large"}])[0] == 200
    with environment(odoo_registry) as env:
        command = env["canteen.terminal.command"].search(
            [("terminal_id", "=", terminal["id"]), ("position", "=", position)]
        )
        assert (command.state, command.error) == ("failed", "photo_too_large")
        assert env["canteen.terminal.failure"].search_count([("command_id", "=", command.id)]) == 1
    started = time.monotonic()
    assert client.commands(position, 1)[1] == {"cursor": position, "commands": []}
    assert 0.9 < time.monotonic() - started < 5


def test_a_thousand_bad_requests_change_nothing(bridge, site, odoo_registry, holders):
    terminal = site["terminals"][0]
    client = bridge.client(terminal)
    holder = holders.take()
    good = {"seq": 1, "identity": card(holder), "amount": "1.00", "occurred_at": "2026-11-21T12:00:00+08:00"}
    bad_payloads = [
        b"{not json",
        b"[]",
        b'"text"',
        b"{}",
        *[
            __import__("json").dumps(dict(good, **change)).encode()
            for change in (
                {"seq": -1},
                {"seq": "1"},
                {"seq": 2**40},
                {"amount": 1.5},
                {"amount": "1.001"},
                {"amount": "-1"},
                {"amount": "0"},
                {"identity": {"type": "iris", "value": "x"}},
                {"identity": "card"},
                {"identity": {"type": "card", "value": ""}},
                {"occurred_at": "yesterday"},
                {"occurred_at": "2026-11-21T12:00:00"},
                {"occurred_at": "2030-01-01T12:00:00+08:00"},
            )
        ],
    ]
    before = counts(odoo_registry)
    codes = []
    for n in range(1000):
        variant = n % 8
        if variant < 4:
            codes.append(
                client.request("POST", "/api/v1/transactions", raw_body=bad_payloads[n % len(bad_payloads)])[
                    0
                ]
            )
        elif variant == 4:
            codes.append(client.request("POST", "/api/v1/transactions", good, secret="forged")[0])
        elif variant == 5:
            codes.append(
                client.request("POST", "/api/v1/transactions", good, timestamp=int(time.time()) + 3600)[0]
            )
        elif variant == 6:
            codes.append(client.request("POST", "/api/v1/transactions", raw_body=b"x" * (1024 * 1024 + 1))[0])
        else:
            codes.append(client.request("POST", "/api/v1/transactions", good, nonce="short")[0])
    assert set(codes) <= {400, 401, 413}, sorted(set(codes))
    assert all(400 <= code < 500 for code in codes)
    assert counts(odoo_registry) == before
    assert client.request("GET", "/api/v1/nowhere")[0] == 404
    assert client.request("DELETE", "/api/v1/transactions")[0] == 405


def test_two_bridge_processes_give_the_same_answers(bridge, site, holders):
    """Stateless apart from caches: the same request to another process is replayed, not redone."""
    other = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    try:
        holder = holders.take()
        first = bridge.client(site["terminals"][1]).charge(card(holder), "4.00", seq=8101)[1]
        second = other.client(site["terminals"][1]).charge(card(holder), "4.00", seq=8101)[1]
        assert second["replayed"] is True and second["transaction_id"] == first["transaction_id"]
        assert (
            other.client(site["terminals"][1]).balance(card(holder))[1]
            == bridge.client(site["terminals"][1]).balance(card(holder))[1]
        )
    finally:
        assert other.stop() == 0
