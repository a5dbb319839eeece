"""canteen_dingtalk with the bridge as a real process: charges at a terminal are not slowed while
DingTalk stalls or is down (the message cron is stuck on it meanwhile), and their messages go
out once DingTalk is back. One site, a handful of charges, a few seconds."""

import os
import threading
import time
from datetime import timedelta

import pytest
from bridge_harness import BridgeProcess, load_simulator
from conftest import environment

SIMULATOR = load_simulator()
SEND_TIMEOUT = 1.5  # seconds the cron waits for a stalled DingTalk (system parameter)
CHARGE_BOUND = 1.0  # a charge during the outage answers well before the cron gives up


@pytest.fixture(scope="module")
def fake(odoo_registry):
    with environment(odoo_registry) as env:
        if "canteen.dingtalk.message" not in env:
            pytest.skip("canteen_dingtalk is not installed")
    from odoo.addons.canteen_dingtalk.tools.client import clear_token_cache
    from odoo.addons.canteen_dingtalk.tools.fake_dingtalk import FakeDingTalk

    clear_token_cache()
    server = FakeDingTalk().start()
    keys = ("api_base", "oapi_base", "backoff_seconds", "send_timeout")
    with environment(odoo_registry) as env:
        params = env["ir.config_parameter"]
        saved = {key: params.get_param(f"canteen_dingtalk.{key}") for key in keys}
        values = (server.base_url, server.base_url, "0.01", str(SEND_TIMEOUT))
        for key, value in zip(keys, values, strict=True):
            params.set_param(f"canteen_dingtalk.{key}", value)
        env.cr.commit()
    yield server
    server.release()
    server.stop()
    with environment(odoo_registry) as env:
        for key, value in saved.items():
            env["ir.config_parameter"].set_param(f"canteen_dingtalk.{key}", value or False)
        env.cr.commit()


@pytest.fixture(scope="module")
def site(odoo_registry, fake):
    with environment(odoo_registry) as env:
        setup = SIMULATOR.provision(
            env, dedup_window=0, terminals=1, cardholders=2, modes=("free",), meal_periods=[("lunch", 0, 24)]
        )
        env["res.company"].browse(setup["company_id"]).write(
            {
                "dingtalk_app_key": fake.app_key,
                "dingtalk_app_secret": fake.app_secret,
                "dingtalk_agent_id": "3000001",
                "dingtalk_notify": True,
            }
        )
        for holder in setup["cardholders"]:
            env["hr.employee"].browse(holder["employee_id"]).dingtalk_userid = f"u-{holder['employee_no']}"
        env.cr.commit()
    return setup


@pytest.fixture(scope="module")
def bridge():
    process = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    yield process
    assert process.stop() == 0


def run_cron(registry):
    with environment(registry) as env:
        env["canteen.dingtalk.message"]._cron_process()
        env.cr.commit()


def holder_messages(registry, holder):
    with environment(registry) as env:
        messages = env["canteen.dingtalk.message"].search([("employee_id", "=", holder["employee_id"])])
        entries = env["canteen.ledger.entry"].search([("employee_id", "=", holder["employee_id"])])
        return (
            [(m.state, m.attempts, m.last_error or "") for m in messages],
            set(messages.entry_ids.ids),
            set(entries.ids),
        )


def timed_charge(client, holder, amount):
    started = time.monotonic()
    status, answer = client.charge({"type": "card", "value": holder["card"]}, amount)
    elapsed = time.monotonic() - started
    assert status == 200 and answer["status"] == "approved", answer
    return elapsed


def test_charges_during_a_dingtalk_outage_are_not_slowed_and_notified_later(
    odoo_registry, fake, site, bridge
):
    client = bridge.client(site["terminals"][0])
    holder = site["cardholders"][0]
    userid = f"u-{holder['employee_no']}"

    # DingTalk up: a charge, then the cron sends its message (and the provisioning top-up's)
    # and caches the token.
    timed_charge(client, holder, "1.00")
    run_cron(odoo_registry)
    states, _enqueued, _entries = holder_messages(odoo_registry, holder)
    assert {s[0] for s in states} == {"sent"}, states
    mine = [m["msg"]["text"]["content"] for m in fake.messages if m["userid_list"] == userid]
    assert "1.00" in mine[-1], mine
    sent_before = len(fake.messages)

    # DingTalk stalls: the cron is stuck on its call while the terminal charges.
    fake.hang()
    timed_charge(client, holder, "2.00")
    stuck = threading.Thread(target=run_cron, args=(odoo_registry,))
    stuck.start()
    deadline = time.monotonic() + 10
    while not fake.calls("/topapi/message/corpconversation/asyncsend_v2")[1:] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stuck.is_alive(), "the cron is waiting for DingTalk"
    during = [timed_charge(client, holder, "0.50") for _n in range(5)]
    assert stuck.is_alive(), "the charges were made while the cron waited"
    assert max(during) < CHARGE_BOUND, during
    stuck.join(30)
    assert not stuck.is_alive()
    fake.release()

    # DingTalk down (HTTP 503): charges answer as fast; the cron keeps the messages pending.
    fake.down = True
    during += [timed_charge(client, holder, "0.25") for _n in range(3)]
    assert max(during) < CHARGE_BOUND, during
    run_cron(odoo_registry)
    states, _enqueued, _entries = holder_messages(odoo_registry, holder)
    pending = [s for s in states if s[0] == "pending"]
    assert pending and all(s[1] >= 1 and s[2] for s in pending), states
    assert len(fake.messages) == sent_before, "nothing reached DingTalk during the outage"

    # DingTalk back; once the back-off has passed, the cron sends everything, nothing lost.
    fake.down = False
    with environment(odoo_registry) as env:
        env["canteen.dingtalk.message"].search(
            [("employee_id", "=", holder["employee_id"]), ("state", "=", "pending")]
        ).write({"next_try": env.cr.now() - timedelta(seconds=1)})
        env.cr.commit()
    run_cron(odoo_registry)
    states, enqueued, entries = holder_messages(odoo_registry, holder)
    assert {s[0] for s in states} == {"sent"}, states
    assert enqueued == entries, "every balance change of the holder is in a sent message"
    sent = [m["msg"]["text"]["content"] for m in fake.messages[sent_before:] if m["userid_list"] == userid]
    assert any("2.00" in body for body in sent) and any("0.25" in body for body in sent), sent
