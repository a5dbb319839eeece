"""Issue 9: money and access hold against any client. A real Odoo HTTP server on the test
database (with its demo group: HQ, North and South), users of each canteen group restricted to
the North branch, and JSON-RPC calls of any public method with any arguments and any context,
as a hostile client would send them. Each numbered case of the issue is replayed and shown
refused or harmless; the books reconcile on every account afterwards."""

import datetime
import itertools
import os
import subprocess
import sys
import time

import pytest
import requests
from bridge_harness import ROOT, free_port
from conftest import environment

PASSWORD = "hostile-Pa55"
REFUSED = {
    "odoo.exceptions.AccessError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
}
# Every context key the suite ever read as a permission, sent by the hostile client each time.
HOSTILE_CONTEXT = {
    "canteen_card_state_change": True,
    "canteen_list_reason": "issue",
    "canteen_ledger_service": True,
}


class RpcError(Exception):
    def __init__(self, error):
        super().__init__(error.get("data", {}).get("message") or error.get("message"))
        self.name = error.get("data", {}).get("name")


class Client:
    """A JSON-RPC client of the web client's own endpoints."""

    ids = itertools.count(1)

    def __init__(self, url, database, login, company_ids):
        self.url, self.session = url, requests.Session()
        self.company_ids = company_ids
        self.call("/web/session/authenticate", {"db": database, "login": login, "password": PASSWORD})

    def call(self, path, params):
        reply = self.session.post(
            f"{self.url}{path}",
            json={"jsonrpc": "2.0", "method": "call", "id": next(self.ids), "params": params},
            timeout=60,
        )
        assert reply.status_code == 200, reply.text[:500]
        body = reply.json()
        if "error" in body:
            raise RpcError(body["error"])
        return body["result"]

    def kw(self, model, method, *args, context=None, **kwargs):
        ctx = dict(HOSTILE_CONTEXT, allowed_company_ids=self.company_ids, **(context or {}))
        return self.call(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": dict(kwargs, context=ctx)},
        )

    def refused(self, model, method, *args, **kwargs):
        """The call is refused with a clear Odoo error (never a server error) and returns its name."""
        with pytest.raises(RpcError) as caught:
            self.kw(model, method, *args, **kwargs)
        assert caught.value.name in REFUSED, f"{model}.{method}: {caught.value.name}: {caught.value}"
        return caught.value


@pytest.fixture(scope="module")
def odoo_server():
    port = free_port()
    log_path = ROOT / ".local" / f"odoo-hostile-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "odoo", "-c", str(ROOT / "odoo.conf"), "-d", os.environ["CANTEEN_TEST_DB"],
        "--addons-path", str(ROOT / "addons"),
        "--db_host", os.environ["CANTEEN_DB_HOST"], "--db_port", os.environ["CANTEEN_DB_PORT"],
        "--db_user", os.environ["CANTEEN_DB_USER"], "--db_password", os.environ["CANTEEN_DB_PASSWORD"],
        "--http-port", str(port), "--max-cron-threads", "0", "--log-level", "warn",
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"odoo exited, see {log_path}")
        try:
            if requests.get(f"{url}/web/health", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError(f"odoo did not start, see {log_path}")
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def site(odoo_registry):
    """North users of each canteen group; the demo records the cases use."""
    with environment(odoo_registry) as env:
        north = env.ref("canteen_card.company_branch_north")
        groups = {
            "operator": "canteen_card.group_card_operator",
            "auditor": "canteen_card.group_card_auditor",
            "finance": "canteen_card.group_card_finance",
            "manager": "canteen_card.group_card_manager",
            "terminals": "canteen_pos_bridge.group_terminal_manager",
            "employee": "base.group_user",
        }
        logins = {}
        for key, xmlid in groups.items():
            login = f"hostile_{key}"
            user = env["res.users"].search([("login", "=", login)])
            if not user:
                env["res.users"].with_context(no_reset_password=True).create(
                    {
                        "name": f"Hostile {key}",
                        "login": login,
                        "password": PASSWORD,
                        "company_id": north.id,
                        "company_ids": [(6, 0, north.ids)],
                        "groups_id": [(6, 0, [env.ref("base.group_user").id, env.ref(xmlid).id])],
                    }
                )
            logins[key] = login
        north_people = env["hr.employee"].search(
            [("company_id", "=", north.id), ("current_card_id.state", "=", "active")], order="id"
        )
        hq = env.ref("base.main_company")
        hq_people = env["hr.employee"].search(
            [("company_id", "=", hq.id), ("current_card_id.state", "=", "active")], order="id"
        )
        data = {
            "north": north.id,
            "hq": hq.id,
            "logins": logins,
            "north_people": north_people.ids,
            "hq_people": hq_people.ids,
            "hq_uid": hq_people[0].current_card_id.uid,
            "north_merchant": env.ref("canteen_card.merchant_north_canteen").id,
            "north_card_type": env.ref("canteen_card.card_type_student").id,
            "hq_card_type": env.ref("canteen_card.card_type_staff").id,
        }
        env.cr.commit()
    return data


@pytest.fixture(scope="module")
def as_(odoo_server, site):
    clients = {}

    def client(key):
        if key not in clients:
            clients[key] = Client(
                odoo_server, os.environ["CANTEEN_TEST_DB"], site["logins"][key], [site["north"]]
            )
        return clients[key]

    return client


def books(registry):
    with environment(registry) as env:
        return env["canteen.reconciliation"]._differences()


def wizard(client, model, vals, method="action_confirm"):
    wizard_id = client.kw(model, "create", vals)
    return client.kw(model, method, [wizard_id])


# ---------------------------------------------------------------------------------------------
def test_1_no_replacement_made_by_hand_nor_claimed_twice(as_, site, odoo_registry):
    operator = as_("operator")
    person = site["north_people"][0]
    card = operator.kw("hr.employee", "read", [person], ["current_card_id"])[0]["current_card_id"][0]
    operator.refused(
        "canteen.card.replacement",
        "create",
        {"old_card_id": card, "employee_id": person, "company_id": site["north"], "cash_amount": 1911},
    )
    operator.refused("canteen.card", "write", [card], {"lost_at": "2020-01-01 00:00:00"})
    # The real path: loss, then replacement; the balance waits for the grey-record days.
    operator.kw("canteen.card", "action_report_loss", [card])
    wizard(
        operator,
        "canteen.card.replace.wizard",
        {"old_card_id": card, "kind": "virtual", "card_cost": 0},
        "action_replace",
    )
    replacement = operator.kw("canteen.card.replacement", "search", [("old_card_id", "=", card)])
    assert len(replacement) == 1
    operator.refused("canteen.card.replacement", "action_claim", replacement)
    operator.refused(
        "canteen.card.replacement", "write", replacement, {"state": "waiting", "cash_amount": 999}
    )
    operator.refused("canteen.card.replacement", "unlink", replacement)
    assert books(odoo_registry) == {}


def test_2_context_keys_are_not_authorisation(as_, site):
    operator = as_("operator")
    person = site["north_people"][1]
    card = operator.kw("hr.employee", "read", [person], ["current_card_id"])[0]["current_card_id"][0]
    for vals in ({"state": "cancelled"}, {"state": "active"}, {"scrapped": True}):
        operator.refused("canteen.card", "write", [card], vals)
    operator.refused("canteen.card", "create", {"employee_id": person, "uid": "HOSTILE1"})
    operator.refused(
        "canteen.wallet", "write", operator.kw("canteen.wallet", "search", []), {"expiry_date": False}
    )
    assert operator.kw("canteen.card", "read", [card], ["state"])[0]["state"] == "active"


def test_3_cards_do_not_cross_companies(as_, site, odoo_registry):
    operator = as_("operator")
    card = operator.kw("hr.employee", "read", [site["north_people"][2]], ["current_card_id"])[0]
    operator.refused(
        "canteen.card", "write", [card["current_card_id"][0]], {"employee_id": site["hq_people"][0]}
    )
    # A card for an HQ person, or one whose UID is an HQ person's live card: refused.
    foreign = operator.kw(
        "canteen.card.issue.wizard",
        "create",
        {"employee_id": site["hq_people"][0], "uid": "X1", "card_type_id": site["hq_card_type"]},
    )
    operator.refused("canteen.card.issue.wizard", "action_issue", [foreign])
    with environment(odoo_registry) as env:
        newcomer = env["hr.employee"].create({"name": "Hostile Newcomer", "company_id": site["north"]})
        env.cr.commit()
    issue = operator.kw(
        "canteen.card.issue.wizard",
        "create",
        {"employee_id": newcomer.id, "uid": site["hq_uid"], "card_type_id": site["north_card_type"]},
    )
    operator.refused("canteen.card.issue.wizard", "action_issue", [issue])
    # An employee number names one person in the group.
    with environment(odoo_registry) as env:
        hq_number = env["hr.employee"].browse(site["hq_people"][0]).employee_no
    operator.refused("hr.employee", "write", [newcomer.id], {"employee_no": hq_number})


def test_5_current_card_is_not_writable(as_, site):
    operator = as_("operator")
    other = operator.kw("hr.employee", "read", [site["north_people"][3]], ["current_card_id"])[0]
    operator.refused(
        "hr.employee", "write", [site["north_people"][4]], {"current_card_id": other["current_card_id"][0]}
    )


def test_6_a_correction_only_lowers_a_charge(as_, site, odoo_registry):
    operator = as_("operator")
    person = site["north_people"][5]
    with environment(odoo_registry) as env:
        employee = env["hr.employee"].browse(person)
        entry = env["canteen.ledger"]._charge(
            employee,
            env["canteen.ledger"]._amount(12),
            merchant=env["canteen.merchant"].browse(site["north_merchant"]),
        )
        env.cr.commit()
    correction = operator.kw("canteen.correction.wizard", "create", {"entry_id": entry.id, "new_amount": 80})
    operator.refused("canteen.correction.wizard", "action_confirm", [correction])
    wizard(operator, "canteen.correction.wizard", {"entry_id": entry.id, "new_amount": 10})
    assert books(odoo_registry) == {}


def test_9_audit_records_cannot_be_altered(as_, site):
    operator, finance = as_("operator"), as_("finance")
    operations = operator.kw("canteen.operation", "search", [], limit=1)
    assert operations
    for vals in ({"move_id": False}, {"company_id": site["hq"]}, {"kind": "refund"}):
        operator.refused("canteen.operation", "write", operations, vals)
    operator.refused("canteen.operation", "create", {"kind": "topup", "company_id": site["north"]})
    finance.refused(
        "canteen.clearing", "create",
        {"company_id": site["north"], "merchant_id": site["north_merchant"], "date": "2026-01-01",
         "wallet_kind": "cash", "amount": 123456},
    )  # fmt: skip
    clearings = finance.kw("canteen.clearing", "search", [], limit=1)
    if clearings:
        finance.refused("canteen.clearing", "write", clearings, {"move_id": False})
    operator.refused("canteen.operation.log", "create", {"action": "topup", "company_id": site["north"]})
    operator.refused("hr.employee", "write", [site["north_people"][0]], {"canteen_topup_version": 0})


def test_10_no_leaks_across_companies(as_, site):
    auditor = as_("auditor")
    rows = auditor.kw("canteen.transaction", "search_read", [], ["company_id"])
    assert all(row["company_id"] and row["company_id"][0] == site["north"] for row in rows)
    items = auditor.kw("canteen.menu.item", "search_read", [], ["company_id"])
    assert all(row["company_id"][0] == site["north"] for row in items)
    assert not auditor.kw("hr.employee", "search", [("id", "in", site["hq_people"])])


def test_11_bad_amounts_get_a_clear_error_and_change_nothing(as_, site, odoo_registry):
    operator, manager = as_("operator"), as_("manager")
    with environment(odoo_registry) as env:
        person = env["hr.employee"].create(
            {"name": "Hostile Amounts", "company_id": site["north"], "card_type_id": site["north_card_type"]}
        )
        env["canteen.card"].create({"employee_id": person.id, "uid": "HOSTILE-AMOUNTS"})
        person = person.id
        env.cr.commit()
    wizard(operator, "canteen.topup.wizard", {"employee_ids": [(6, 0, [person])], "amount": 50})
    for amount in ("NaN", "inf", 1e30, "abc", 1.005, -5):
        operator.refused(
            "canteen.topup.wizard", "create", {"employee_ids": [(6, 0, [person])], "amount": amount}
        )
    too_much = manager.kw(
        "canteen.subsidy.grant.wizard", "create", {"employee_ids": [(6, 0, [person])], "amount": 999999}
    )
    manager.refused("canteen.subsidy.grant.wizard", "action_confirm", [too_much])
    # What failed before the fix now works: a manager's grant with an expiry date, in replace
    # mode, and a branch operator's manual entry.
    expiry = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    wizard(
        manager,
        "canteen.subsidy.grant.wizard",
        {"employee_ids": [(6, 0, [person])], "amount": 20, "mode": "replace", "expiry_date": expiry},
    )
    wizard(
        operator,
        "canteen.manual.entry.wizard",
        {"employee_id": person, "merchant_id": site["north_merchant"], "terminal_ref": "9", "amount": 3},
    )
    cancel = operator.kw(
        "canteen.card.cancel.wizard", "create",
        {"employee_ids": [(6, 0, [person])], "use_card_type_cost": False, "card_cost": 1000000},
    )  # fmt: skip
    operator.refused("canteen.card.cancel.wizard", "action_confirm", [cancel])
    assert books(odoo_registry) == {}


def test_zz_the_books_reconcile_on_every_account_afterwards(odoo_registry):
    """Last of the module: after every hostile call above, each account the suite posts to
    (wallet liabilities, balances awaiting claim, card costs, subsidy expense) agrees with its
    sub-ledger, to the cent."""
    assert books(odoo_registry) == {}
    with environment(odoo_registry) as env:
        kinds = set(env["canteen.reconciliation"].search([]).mapped("line_kind"))
    assert kinds == {"cash", "subsidy", "claim", "card_cost", "subsidy_expense"}
