from decimal import Decimal

from odoo.tests import TransactionCase, new_test_user


class CanteenCardCase(TransactionCase):
    """A company with a chart of accounts, a card type, a merchant and cardholders with cards.

    Every test built on it checks in tearDown that the books reconcile: for each company and
    wallet kind, balances = ledger entries = liability account - uncleared consumption.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Ledger = cls.env["canteen.ledger"]
        cls.company = cls._make_company("Canteen Test HQ")
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company.id]))
        cls.card_type = cls.env["canteen.card.type"].create(
            {"name": "Staff", "company_id": cls.company.id, "overdraft_floor": -20, "max_balance": 1000}
        )
        cls.merchant = cls.env["canteen.merchant"].create(
            {"name": "Staff Canteen", "company_id": cls.company.id}
        )
        cls.alice = cls._make_cardholder("Alice", "A001", cls.company)
        cls.bob = cls._make_cardholder("Bob", "B002", cls.company)

    @classmethod
    def _make_company(cls, name, parent=None):
        company = cls.env["res.company"].create({"name": name, "parent_id": parent and parent.id})
        template = parent.root_id.chart_template if parent else "generic_coa"
        cls.env["account.chart.template"].try_loading(template, company=company, install_demo=False)
        # Users of these tests work in the new companies too.
        cls.env.user.company_ids |= company
        return company

    @classmethod
    def _make_cardholder(cls, name, number, company, card_type=None, uid=None):
        employee = cls.env["hr.employee"].create(
            {
                "name": name,
                "employee_no": number,
                "company_id": company.id,
                "card_type_id": card_type.id
                if card_type
                else (cls.card_type.id if company == cls.company else False),
            }
        )
        cls.env["canteen.card"].create({"employee_id": employee.id, "uid": uid or f"UID{number}"})
        return employee

    @classmethod
    def _user(cls, login, groups, companies):
        return new_test_user(
            cls.env, login, groups=groups, company_id=companies[0].id, company_ids=[c.id for c in companies]
        )

    def tearDown(self):
        self.assertBooksBalance()
        super().tearDown()

    # helpers ---------------------------------------------------------------------------------
    def topup(self, employees, amount, wallet_kind="cash", mode="topup"):
        wizard = self.env["canteen.topup.wizard"].create(
            {
                "employee_ids": [(6, 0, employees.ids)],
                "amount": amount,
                "wallet_kind": wallet_kind,
                "mode": mode,
            }
        )
        wizard.action_confirm()
        return self.env["canteen.operation"].search([], order="id desc", limit=len(employees.company_id))

    def grant(self, amount, employees=None, departments=None, mode="accumulate", expiry_date=False):
        wizard = self.env["canteen.subsidy.grant.wizard"].create(
            {
                "employee_ids": [(6, 0, (employees or self.env["hr.employee"]).ids)],
                "department_ids": [(6, 0, (departments or self.env["hr.department"]).ids)],
                "amount": amount,
                "mode": mode,
                "expiry_date": expiry_date,
            }
        )
        wizard.action_confirm()

    def charge(self, employee, amount, merchant=None, **kwargs):
        return self.Ledger._charge(
            employee, Decimal(str(amount)), merchant=merchant or self.merchant, **kwargs
        )

    def balances(self, employee):
        employee.invalidate_recordset()
        return (employee.cash_balance, employee.subsidy_balance)

    def assertBooksBalance(self):
        differences = self.env["canteen.reconciliation"].sudo()._differences()
        self.assertEqual(differences, {}, "wallets, ledger and books must agree")
