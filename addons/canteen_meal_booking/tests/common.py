from datetime import date

from odoo.tests import new_test_user

DAY = date(2026, 3, 10)  # a Tuesday
# Monday 2026-03-09 12:00 in Shanghai: Tuesday's day-before cut-off (20:00) is still ahead.
NOW = "2026-03-09 04:00:00"


class CanteenBookingMixin:
    """Two company trees; in the first a canteen serving breakfast, lunch and dinner, cardholders
    with cards and users, a manager, and a published lunch menu for DAY."""

    @classmethod
    def _setup_canteen_data(cls):
        env = cls.env
        cls.company = env["res.company"].create({"name": "Booking HQ"})
        cls.branch = env["res.company"].create({"name": "Booking Branch", "parent_id": cls.company.id})
        cls.other_company = env["res.company"].create({"name": "Other Group"})
        for company in cls.company | cls.branch | cls.other_company:
            company.resource_calendar_id = env["resource.calendar"].create(
                {"name": f"{company.name} hours", "tz": "Asia/Shanghai", "company_id": company.id}
            )
        env.user.company_ids |= cls.company | cls.branch | cls.other_company
        cls.merchant = env["canteen.merchant"].create({"name": "HQ Kitchen", "company_id": cls.company.id})
        cls.other_merchant = env["canteen.merchant"].create(
            {"name": "Other Kitchen", "company_id": cls.other_company.id}
        )
        periods = env["canteen.meal.period"].create(
            [
                {"merchant_id": cls.merchant.id, "kind": "breakfast", "hour_from": 7, "hour_to": 9},
                {"merchant_id": cls.merchant.id, "kind": "lunch", "hour_from": 11, "hour_to": 13},
                {"merchant_id": cls.merchant.id, "kind": "dinner", "hour_from": 17, "hour_to": 19},
                {"merchant_id": cls.other_merchant.id, "kind": "lunch", "hour_from": 11, "hour_to": 13},
            ]
        )
        cls.canteen = env["canteen.canteen"].create(
            {
                "name": "HQ Canteen",
                "company_id": cls.company.id,
                "merchant_id": cls.merchant.id,
                "meal_ids": [
                    # breakfast closes 2 hours before the meal; lunch and dinner the day before at 20:00
                    (
                        0,
                        0,
                        {
                            "meal_period_id": periods[0].id,
                            "cutoff_mode": "before_meal",
                            "cutoff_hours_before": 2,
                        },
                    ),
                    (0, 0, {"meal_period_id": periods[1].id}),
                    (0, 0, {"meal_period_id": periods[2].id}),
                ],
            }
        )
        cls.other_canteen = env["canteen.canteen"].create(
            {
                "name": "Other Canteen",
                "company_id": cls.other_company.id,
                "merchant_id": cls.other_merchant.id,
                "meal_ids": [(0, 0, {"meal_period_id": periods[3].id})],
            }
        )
        cls.dish_rice = env["canteen.dish"].create({"name": "Rice", "price": 1, "company_id": cls.company.id})
        cls.dish_pork = env["canteen.dish"].create(
            {"name": "Pork", "price": 12, "company_id": cls.company.id}
        )
        cls.lunch_menu = env["canteen.menu"].create(
            {
                "canteen_id": cls.canteen.id,
                "date": DAY,
                "meal_kind": "lunch",
                "state": "published",
                "line_ids": [(0, 0, {"dish_id": cls.dish_rice.id}), (0, 0, {"dish_id": cls.dish_pork.id})],
            }
        )
        cls.alice, cls.alice_user = cls._cardholder("Alice", "MB001", cls.company, "base.group_portal")
        cls.bob, cls.bob_user = cls._cardholder("Bob", "MB002", cls.branch, "base.group_user")
        cls.carol, cls.carol_user = cls._cardholder("Carol", "MB003", cls.company, "base.group_portal")
        cls.manager = new_test_user(
            env,
            "mb_manager",
            groups="canteen_meal_booking.group_canteen_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id, cls.branch.id],
        )
        cls.other_manager = new_test_user(
            env,
            "mb_other_manager",
            groups="canteen_meal_booking.group_canteen_manager",
            company_id=cls.other_company.id,
            company_ids=[cls.other_company.id],
        )

    @classmethod
    def _cardholder(cls, name, number, company, group, card=True):
        user = new_test_user(
            cls.env,
            f"mb_{number.lower()}",
            groups=group,
            company_id=company.id,
            company_ids=[company.id],
        )
        employee = (
            cls.env["hr.employee"]
            .sudo()
            .create({"name": name, "employee_no": number, "company_id": company.id, "user_id": user.id})
        )
        if card:
            cls.env["canteen.card"].sudo().create({"employee_id": employee.id, "uid": f"UIDMB{number}"})
        return employee, user
