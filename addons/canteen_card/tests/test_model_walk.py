import re
from datetime import timedelta
from pathlib import Path

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

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
