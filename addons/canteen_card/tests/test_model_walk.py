import json
import logging
import re
from datetime import timedelta
from pathlib import Path

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.service.model import get_public_method
from odoo.tests import tagged
from odoo.tools import json_default
from odoo.tools.safe_eval import safe_eval

from odoo.addons.web.controllers.utils import clean_action

from .common import CanteenCardCase

ADDONS = Path(__file__).resolve().parents[2]
# Records of money, state and audit, whichever canteen addon defines them: read-only to every
# user through the ORM. A model of this list that is installed must inherit
# canteen.protected.mixin; any other model that does is checked the same way.
MONEY_STATE_AUDIT = {
    "canteen.card",
    "canteen.wallet",
    "canteen.ledger.entry",
    "canteen.card.replacement",
    "canteen.operation",
    "canteen.operation.log",
    "canteen.clearing",
    "canteen.card.list.change",
    "canteen.transaction",
    "canteen.terminal.command",
    "canteen.terminal.failure",
    "canteen.terminal.nonce",
}
# The addons whose buttons and server actions the client walk presses (others may call outside
# services from a button: they test their own).
CLIENT_WALK_MODULES = ("canteen_card", "canteen_pos_bridge")
ACTION_XMLID = re.compile(r"^%\((?P<xmlid>[\w.]+)\)d$")
_logger = logging.getLogger(__name__)
CONTEXT_KEY = re.compile(r"""context(?:\.get\(|\[)\s*["']([a-z_]+)["']""")


def suite_context_keys():
    """Every context key the suite's code reads, each set to a value a client could send."""
    keys = set()
    for path in ADDONS.glob("canteen_*/**/*.py"):
        if "/tests/" not in str(path):
            keys |= set(CONTEXT_KEY.findall(path.read_text(encoding="utf-8")))
    return dict.fromkeys(keys, True)


@tagged("post_install", "-at_install")
class TestModelWalk(CanteenCardCase):
    """Every model of the suite, tried by a user of each canteen group restricted to a branch:
    money, state and audit records refuse create, write (of every stored field, with every
    context key the code reads) and unlink, and nothing changes; every model has access lines
    and record rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.branch = cls._make_company("Walk Branch", parent=cls.company)
        cls.nina = cls._make_cardholder("Nina", "W001", cls.branch)
        cls.branch_merchant = cls.env["canteen.merchant"].create(
            {"name": "Branch Canteen", "company_id": cls.branch.id}
        )
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.branch.id, cls.company.id]))
        # Money, state and audit records of the branch: a top-up, a charge, a clearing, a loss
        # and a replacement waiting for its claim (list changes, operation log, commands).
        env["canteen.topup.wizard"].with_company(cls.branch).create(
            {"employee_ids": [(6, 0, cls.nina.ids)], "amount": 30}
        ).action_confirm()
        cls.branch.canteen_grey_wait_days = 3
        env["canteen.ledger"]._charge(
            cls.nina,
            cls.env["canteen.ledger"]._amount(5),
            merchant=cls.branch_merchant,
            date=fields.Datetime.now() - timedelta(days=2),
        )
        env["canteen.clearing"]._run(cls.branch)
        if "canteen.terminal" in env:
            terminal = env["canteen.terminal"].create(
                {
                    "name": "Walk",
                    "number": 7,
                    "serial": "WALK-7",
                    "company_id": cls.branch.id,
                    "merchant_id": cls.branch_merchant.id,
                }
            )
            env["canteen.terminal.failure"].create({"terminal_id": terminal.id, "error": "walk"})
            env["canteen.terminal.command"]._enqueue(terminal, "time.sync", {})
            env["canteen.terminal.nonce"].create(
                {"terminal_id": terminal.id, "nonce": "walk-nonce-0000000", "seen_at": fields.Datetime.now()}
            )
            env["canteen.cashier.wizard"].create(
                {"terminal_id": terminal.id, "employee_no": "W001", "amount": 1}
            ).action_charge()
        cls.nina.current_card_id.action_report_loss()
        env["canteen.card.replacement"]._replace(cls.nina.current_card_id, {"uid": "WALKNEW"})
        groups = [
            "canteen_card.group_card_auditor",
            "canteen_card.group_card_operator",
            "canteen_card.group_card_finance",
            "canteen_card.group_card_manager",
            "base.group_user",
            "base.group_portal",
        ]
        if env.ref("canteen_pos_bridge.group_terminal_manager", raise_if_not_found=False):
            groups.append("canteen_pos_bridge.group_terminal_manager")
        cls.users = [cls._user(f"walk_{xmlid.split('.')[1]}", xmlid, [cls.branch]) for xmlid in groups]
        cls.context_keys = suite_context_keys()

    def suite_models(self):
        """Models defined (not only extended) by the canteen addons, with their ir.model."""
        models = self.env["ir.model"].search([("model", "=like", "canteen.%")])
        return [m for m in models if not self.env[m.model]._abstract]

    def test_context_keys_were_found(self):
        # The walk is only as hostile as the keys it sends: the scanner must find the suite's.
        self.assertIn("active_model", self.context_keys)

    def test_every_model_has_access_lines_and_record_rules(self):
        for model in self.suite_models():
            with self.subTest(model=model.model):
                self.assertTrue(model.access_ids, f"{model.model} has no ir.model.access line")
                if not self.env[model.model]._transient:
                    self.assertTrue(model.rule_ids, f"{model.model} has no record rule")

    def test_money_state_and_audit_models_are_protected(self):
        mixin = self.env.registry["canteen.protected.mixin"]
        for model in self.suite_models():
            if model.model in MONEY_STATE_AUDIT:
                with self.subTest(model=model.model):
                    self.assertIsInstance(self.env[model.model], mixin)
            if isinstance(self.env[model.model], mixin):
                for access in model.access_ids:
                    with self.subTest(model=model.model, access=access.name):
                        self.assertFalse(access.perm_create or access.perm_unlink)
                        self.assertFalse(
                            access.perm_write and not self.env[model.model]._canteen_user_fields,
                            f"{access.name} grants write on {model.model}",
                        )

    def test_every_group_is_refused_create_write_unlink(self):
        mixin = self.env.registry["canteen.protected.mixin"]
        refused = UserError  # AccessError and ValidationError are UserErrors
        protected = [m.model for m in self.suite_models() if isinstance(self.env[m.model], mixin)]
        self.assertTrue(MONEY_STATE_AUDIT & set(protected))
        for model_name in protected:
            Model = self.env[model_name]
            record = Model.search([("id", "!=", 0)], limit=1, order="id desc")
            if "company_id" in Model._fields and Model._fields["company_id"].store:
                record = (
                    Model.search([("company_id", "=", self.branch.id)], limit=1, order="id desc") or record
                )
            self.assertTrue(record or Model._auto is False, f"no {model_name} record to try")
            stored = [
                name
                for name, field in Model._fields.items()
                if field.store
                and field.column_type
                and name not in ("id", "create_uid", "create_date", "write_uid", "write_date")
            ]
            before = record.read(stored) if record else None
            for user in self.users:
                hostile = self.env(
                    user=user, context=dict(self.context_keys, allowed_company_ids=[self.branch.id])
                )[model_name]
                with (
                    self.subTest(model=model_name, user=user.login, operation="create"),
                    self.assertRaises(refused),
                    self.cr.savepoint(),
                ):
                    hostile.create({})
                if not record:
                    continue
                mine = hostile.browse(record.id)
                for name in stored:
                    value = record._fields[name].convert_to_write(record[name], record)
                    with (
                        self.subTest(model=model_name, user=user.login, field=name),
                        self.assertRaises(refused),
                        self.cr.savepoint(),
                    ):
                        mine.write({name: value})
                with (
                    self.subTest(model=model_name, user=user.login, operation="unlink"),
                    self.assertRaises(refused),
                    self.cr.savepoint(),
                ):
                    mine.unlink()
            if record:
                record.invalidate_recordset()
                self.assertEqual(record.read(stored), before, f"{model_name} changed")

    def test_employee_money_fields_are_refused_to_hr(self):
        hr = self._user("walk_hr", "hr.group_hr_user", [self.branch])
        employee = self.env(user=hr, context=dict(self.context_keys, allowed_company_ids=[self.branch.id]))[
            "hr.employee"
        ].browse(self.nina.id)
        other_card = self.alice.current_card_id
        for vals in (
            {"current_card_id": other_card.id},
            {"cardholder_state": "resigned"},
            {"canteen_topup_version": 0},
            {"canteen_refund_version": 0},
            {"card_ids": [Command.link(other_card.id)]},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError), self.cr.savepoint():
                employee.write(vals)
        self.assertEqual(self.nina.current_card_id.uid, "WALKNEW")

    # The web client's way: every server action and form button -----------------------------
    def client_env(self, user, records):
        """The environment of a call from the web client: its context, with the records active."""
        return self.env(
            user=user,
            context={
                "lang": "en_US",
                "tz": "Asia/Shanghai",
                "uid": user.id,
                "allowed_company_ids": [self.branch.id, self.company.id],
                "active_model": records._name,
                "active_id": records[:1].id,
                "active_ids": records.ids,
            },
        )

    def sample(self, model_name, user):
        """A record to press a button on: the newest one of the branch, or any; a wizard made with
        its defaults as the client would; None when there is nothing to try."""
        Model = self.env[model_name]
        if not Model._transient:
            return Model.search(
                [("company_id", "=", self.branch.id)]
                if "company_id" in Model._fields and Model._fields["company_id"].store
                else [],
                limit=1,
                order="id desc",
            ) or Model.search([], limit=1, order="id desc")
        Wizard = self.client_env(user, self.nina | self.alice)[model_name]
        defaults = Wizard.default_get(list(Wizard._fields))
        required = [name for name, field in Wizard._fields.items() if field.required and field.store]
        if any(name not in defaults for name in required):
            return None  # a wizard that needs values typed first
        try:
            with self.cr.savepoint(flush=True):
                return Wizard.create({})
        except UserError:
            return None

    def assert_client_reads(self, result, where):
        """What /web/dataset/call_button and /web/action/run send back must be an action the client
        can read (or nothing)."""
        if isinstance(result, dict) and result.get("type") != "":
            cleaned = clean_action(dict(result), env=self.env)
            json.dumps(cleaned, default=json_default)
            self.assertTrue(cleaned.get("type"), where)
        else:
            self.assertIn(result, (None, False, True), f"{where} returned {result!r}")

    def button_model(self, model, button):
        """The model a button runs on: the view's, or the comodel of the x2many field whose
        embedded list or form holds it."""
        # A <field position="..."> of an inherited view only says where its content goes.
        fields_around = [n for n in button.iterancestors() if n.tag == "field" and not n.get("position")]
        for field in reversed(fields_around):
            model = self.env[model]._fields[field.get("name")].comodel_name
        return model

    def suite_xmlids(self, model):
        data = self.env["ir.model.data"].search(
            [("model", "=", model), ("module", "in", CLIENT_WALK_MODULES)]
        )
        return [(f"{d.module}.{d.name}", self.env[model].browse(d.res_id)) for d in data]

    def test_every_server_action_and_button_runs_as_the_client_calls_it(self):
        desk = self._user(
            "walk_desk",
            ",".join(
                g
                for g in (
                    "canteen_card.group_card_manager",
                    "canteen_card.group_card_finance",
                    "account.group_account_manager",
                    "canteen_pos_bridge.group_terminal_manager",
                )
                if self.env.ref(g, raise_if_not_found=False)
            ),
            [self.company, self.branch],
        )
        pressed, skipped = [], []
        for xmlid, action in self.suite_xmlids("ir.actions.server"):
            records = self.sample(action.model_id.model, desk)
            if not records:
                skipped.append(xmlid)
                continue
            with self.subTest(server_action=xmlid), self.cr.savepoint():
                try:
                    result = action.with_env(self.client_env(desk, records)).run()
                except UserError:
                    result = None  # a refusal with a message is what the client shows
                self.assert_client_reads(result, xmlid)
                pressed.append(xmlid)
        for xmlid, view in self.suite_xmlids("ir.ui.view"):
            arch = etree.fromstring(view.arch_db.encode())
            for button in arch.iter("button"):
                name, kind = button.get("name"), button.get("type")
                where = f"{xmlid}: {name}"
                if kind == "action":
                    match = ACTION_XMLID.match(name or "")
                    action = (
                        self.env.ref(match["xmlid"])
                        if match
                        else self.env["ir.actions.actions"].browse(int(name))
                    )
                    action = self.env[action.type].browse(action.id)
                    records = self.sample(view.model, desk)
                    if action._name != "ir.actions.act_window" or not records:
                        continue
                    with self.subTest(button=where), self.cr.savepoint():
                        env = self.client_env(desk, records)
                        context = safe_eval(action.context or "{}", {**env.context, "context": env.context})
                        Wizard = env[action.res_model].with_context(**context)
                        Wizard.default_get(list(Wizard.fields_get(attributes=["type"])))
                        pressed.append(where)
                    continue
                model = self.button_model(view.model, button)
                if kind != "object" or model == "res.config.settings":
                    continue
                with self.subTest(button=where):
                    get_public_method(self.env[model], name)  # not private, exists
                    records = self.sample(model, desk)
                    if not records:
                        skipped.append(where)
                        continue
                    with self.cr.savepoint():
                        try:
                            result = getattr(records.with_env(self.client_env(desk, records)), name)()
                        except UserError:
                            result = None
                        self.assert_client_reads(result, where)
                        pressed.append(where)
        _logger.info("client walk: %s pressed, nothing to press on for %s", len(pressed), skipped)
        self.assertIn("canteen_card.hr_employee_freeze_cards_action", pressed)
        self.assertIn("canteen_card.hr_employee_rehire_action", pressed)
        self.assertGreater(len(pressed), 30)
