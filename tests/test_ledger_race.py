"""Two real database connections race to spend the last yuan of one wallet.

A single TransactionCase cannot race with itself: here each charge runs in its own thread
with its own cursor and commits, like two terminals would.
"""

import threading
import time
import uuid
from decimal import Decimal

import pytest

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.service.model import retrying


@pytest.fixture
def funded_cardholder(odoo_env):
    """A cardholder with exactly 1.00 yuan, committed so that other connections see it."""
    env = odoo_env
    company = env.ref("base.main_company")
    tag = uuid.uuid4().hex[:8]
    employee = env["hr.employee"].create({"name": f"Racer {tag}", "company_id": company.id})
    env["canteen.card"].create({"employee_id": employee.id, "uid": f"RACE{tag}"})
    merchant = env["canteen.merchant"].create({"name": f"Race canteen {tag}", "company_id": company.id})
    env["canteen.topup.wizard"].with_company(company).create(
        {"employee_ids": [(6, 0, employee.ids)], "amount": 1.0}
    ).action_confirm()
    env.cr.commit()
    return employee.id, merchant.id


def _charge_in_own_transaction(registry, ids, start, results, *, locked=None, hold=0.0):
    """Charge 1.00 in a transaction of its own, as an Odoo request does: Odoo's cursors are
    REPEATABLE READ, so the loser of a lock gets a serialization failure and `retrying` runs
    it again on a fresh snapshot. `locked` is set once the charge holds the wallet."""
    employee_id, merchant_id = ids
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})

        def charge():
            employee, merchant = (
                env["hr.employee"].browse(employee_id),
                env["canteen.merchant"].browse(merchant_id),
            )
            env["canteen.ledger"]._charge(employee, Decimal("1.00"), merchant=merchant)
            if locked and not locked.is_set():
                locked.set()
                time.sleep(hold)

        start.wait()
        began = time.monotonic()
        try:
            retrying(charge, env)
            cr.commit()
            results.append(("approved", time.monotonic() - began))
        except UserError as error:
            cr.rollback()
            results.append((str(error), time.monotonic() - began))
        finally:
            if locked:
                locked.set()


def _run_threads(*targets):
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def _state(env, employee_id):
    env.invalidate_all()
    wallet = env["canteen.wallet"].search([("employee_id", "=", employee_id), ("kind", "=", "cash")])
    charges = env["canteen.ledger.entry"].search_count(
        [("employee_id", "=", employee_id), ("kind", "=", "charge")]
    )
    return wallet.balance, charges


def test_two_connections_race_for_the_last_yuan(odoo_registry, odoo_env, funded_cardholder):
    employee_id, _merchant_id = funded_cardholder
    start, results = threading.Barrier(2), []
    _run_threads(*[lambda: _charge_in_own_transaction(odoo_registry, funded_cardholder, start, results)] * 2)
    outcomes = sorted(outcome for outcome, _seconds in results)
    assert len(outcomes) == 2
    assert outcomes.count("approved") == 1, outcomes
    assert "missing" in next(o for o in outcomes if o != "approved")
    assert _state(odoo_env, employee_id) == (0.0, 1)


def test_the_second_connection_waits_for_the_first_lock(odoo_registry, odoo_env, funded_cardholder):
    """The first charge holds the wallet lock 0.5 s; the second blocks, then finds it spent."""
    employee_id, _merchant_id = funded_cardholder
    start, locked, first, second = threading.Barrier(1), threading.Event(), [], []

    def later():
        locked.wait(10)
        _charge_in_own_transaction(odoo_registry, funded_cardholder, threading.Barrier(1), second)

    _run_threads(
        lambda: _charge_in_own_transaction(
            odoo_registry, funded_cardholder, start, first, locked=locked, hold=0.5
        ),
        later,
    )
    assert first[0][0] == "approved"
    outcome, seconds = second[0]
    assert "missing" in outcome
    assert seconds >= 0.4, f"the second charge did not wait for the lock ({seconds:.3f} s)"
    assert _state(odoo_env, employee_id) == (0.0, 1)


def test_books_balance_after_the_races(odoo_env):
    assert odoo_env["canteen.reconciliation"]._differences() == {}
