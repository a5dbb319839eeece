from datetime import timedelta

from odoo import Command, api, fields, models


class CanteenCanteen(models.Model):
    """A place where people eat: its merchant takes the money, its meals have a serving window
    (the merchant's meal periods) and a booking window."""

    _name = "canteen.canteen"
    _description = "Canteen"
    _order = "company_id, sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, help="Name shown to cardholders.")
    sequence = fields.Integer(default=10, help="Order of the canteens in lists.")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        help="The company that runs the canteen; people of its company tree may book here.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    merchant_id = fields.Many2one(
        "canteen.merchant",
        check_company=True,
        index=True,
        domain="[('kind', '=', 'canteen')]",
        help="The merchant whose terminals take the canteen's payments and define its meal periods.",
    )
    location = fields.Char(help="Building, floor or address of the canteen.")
    manager_ids = fields.Many2many(
        "res.users",
        string="Managers",
        check_company=True,
        help="Users who publish this canteen's menus and see its bookings.",
    )
    meal_ids = fields.One2many(
        "canteen.canteen.meal",
        "canteen_id",
        string="Meals",
        help="The meals served here, with their serving and booking windows.",
    )
    menu_ids = fields.One2many("canteen.menu", "canteen_id", string="Menus", help="Menus of the canteen.")
    booking_required = fields.Boolean(
        help="Terminals of this canteen decline people without a booking for the current meal.",
    )
    reminder_enabled = fields.Boolean(
        string="Booking Reminders",
        help="Before a meal's cut-off, remind the people who usually eat here and have not booked.",
    )
    reminder_hours = fields.Float(
        string="Remind Hours Before Cut-off",
        default=2.0,
        help="How long before the cut-off the reminder is sent.",
    )
    active = fields.Boolean(default=True, help="Archived canteens take no bookings.")

    _sql_constraints = [
        ("merchant_uniq", "unique (merchant_id)", "A merchant belongs to one canteen."),
    ]

    @api.model
    def _canteen_managed_domain(self, user=None):
        """Canteens a user manages: named among the managers (portal or internal user), or a
        Canteen Manager of the canteen's company or of a company above it."""
        user = user or self.env.user
        domain = [("manager_ids", "in", user.ids)]
        if user.has_group("canteen_meal_booking.group_canteen_manager"):
            domain = ["|", ("company_id", "child_of", user.company_ids.ids), *domain]
        return domain

    def _canteen_is_managed_by(self, user=None):
        """True when the user manages every canteen of self (checked on the user's own companies,
        never on a context)."""
        if not self:
            return False
        user = user or self.env.user
        managed = (
            self.sudo()
            .with_context(active_test=False)
            .search([("id", "in", self.ids), *self._canteen_managed_domain(user)])
        )
        return len(managed) == len(self)

    def _canteen_timezone(self):
        self.ensure_one()
        return self.company_id._canteen_timezone()

    def _canteen_copy_menus(self, date_from, date_to, shift):
        """Copy the menus of [date_from, date_to] shifted by `shift` days, as drafts; targets that
        already have a menu are left alone. Callers check the manager first."""
        self.ensure_one()
        Menu = self.env["canteen.menu"].sudo()
        sources = Menu.search(
            [("canteen_id", "=", self.id), ("date", ">=", date_from), ("date", "<=", date_to)]
        )
        created = Menu.browse()
        for source in sources:
            target_date = source.date + timedelta(days=shift)
            if Menu.search_count(
                [
                    ("canteen_id", "=", self.id),
                    ("date", "=", target_date),
                    ("meal_kind", "=", source.meal_kind),
                ]
            ):
                continue
            created |= Menu.create(
                {
                    "canteen_id": self.id,
                    "date": target_date,
                    "meal_kind": source.meal_kind,
                    "note": source.note,
                    "line_ids": [
                        Command.create(
                            {"dish_id": line.dish_id.id, "price": line.price, "sequence": line.sequence}
                        )
                        for line in source.line_ids
                    ],
                }
            )
        return created.sudo(False)

    def _canteen_manager_page(self, day):
        """Values of a manager's page of this canteen for one day: menus and booked versus
        served (counts only, never anyone's money). Callers check that the user manages it."""
        self.ensure_one()
        canteen = self.sudo()
        menus = self.env["canteen.menu"].sudo().search([("canteen_id", "=", canteen.id), ("date", "=", day)])
        figures = self.env["canteen.booking.report"]._canteen_figures(canteen, day)
        meals = [
            {
                "meal": meal,
                "menu": menus.filtered(lambda m, k=meal.meal_kind: m.meal_kind == k)[:1],
                "figures": figures.get(
                    meal.meal_kind, {"booked": 0, "served": 0, "no_show": 0, "walk_in": 0}
                ),
            }
            for meal in canteen.meal_ids.sorted("hour_from")
        ]
        return {
            "day": day,
            "day_label": self.env["canteen.booking"]._canteen_day_label(day, with_year=True),
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "meals": meals,
            "dishes": self.env["canteen.dish"]
            .sudo()
            .search([("company_id", "parent_of", canteen.company_id.id)]),
        }

    def _canteen_demo_week(self, employee_ids):
        """Demo data: published lunch and dinner menus from today for a week, rotating the
        company's dishes, and lunch bookings of some cardholders for the coming days."""
        today = fields.Date.context_today(self)
        Menu = self.env["canteen.menu"].sudo()
        for canteen in self.sudo():
            dishes = (
                self.env["canteen.dish"].sudo().search([("company_id", "parent_of", canteen.company_id.id)])
            )
            if not dishes:
                continue
            for offset in range(7):
                day = today + timedelta(days=offset)
                for index, kind in enumerate(canteen.meal_ids.mapped("meal_kind")):
                    if kind == "breakfast":
                        continue
                    chosen = [dishes[(offset + index + k) % len(dishes)] for k in range(4)]
                    Menu.create(
                        {
                            "canteen_id": canteen.id,
                            "date": day,
                            "meal_kind": kind,
                            "state": "published" if offset < 5 else "draft",
                            "line_ids": [
                                Command.create({"dish_id": dish.id}) for dish in dict.fromkeys(chosen)
                            ],
                        }
                    )
            for offset in range(1, 4):
                for employee_id in employee_ids:
                    self.env["canteen.booking"].sudo().create(
                        {
                            "employee_id": employee_id,
                            "canteen_id": canteen.id,
                            "merchant_id": canteen.merchant_id.id,
                            "company_id": canteen.company_id.id,
                            "date": today + timedelta(days=offset),
                            "meal_kind": "lunch",
                        }
                    )
        return True

    def _canteen_day_sheet_xlsx(self, day):
        """The day sheet (booked versus served per meal, and the dishes) as XLSX bytes."""
        import io

        import openpyxl

        self.ensure_one()
        page = self._canteen_manager_page(day)
        labels = dict(self.env["canteen.menu"]._fields["meal_kind"]._description_selection(self.env))
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = str(day)
        sheet.append([self.name, str(day)])
        sheet.append(
            [
                self.env._("Meal"),
                self.env._("Booked"),
                self.env._("Served"),
                self.env._("No-shows"),
                self.env._("Walk-ins"),
                self.env._("Dishes"),
            ]
        )
        for item in page["meals"]:
            figures = item["figures"]
            sheet.append(
                [
                    labels.get(item["meal"].meal_kind, ""),
                    figures["booked"],
                    figures["served"],
                    figures["no_show"],
                    figures["walk_in"],
                    ", ".join(item["menu"].line_ids.dish_id.mapped("name")),
                ]
            )
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    # reminders -----------------------------------------------------------------------------
    @api.model
    def _cron_send_booking_reminders(self):
        """Hourly: for each meal whose cut-off is near, remind the usual eaters without a booking
        (mail notification on their employee record; DingTalk plugs into the same messages)."""
        now = fields.Datetime.now()
        for canteen in self.sudo().search([("reminder_enabled", "=", True)]):
            today = fields.Date.context_today(canteen.with_context(tz=canteen._canteen_timezone()))
            for meal in canteen.meal_ids:
                for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
                    cutoff = meal._cutoff(day)
                    if meal.last_reminder_date and meal.last_reminder_date >= day:
                        continue
                    if now < cutoff <= now + timedelta(hours=canteen.reminder_hours):
                        canteen._canteen_remind(meal, day)
                        meal.last_reminder_date = day
        return True

    def _canteen_usual_eaters(self, meal_kind, day, weeks=2, times=3):
        """Employees served at this canteen's merchant at this meal at least `times` times in
        the `weeks` weeks before `day`."""
        self.ensure_one()
        if not self.merchant_id:
            return self.env["hr.employee"]
        self.env.cr.execute(
            """
            SELECT t.employee_id
              FROM canteen_transaction t
              JOIN canteen_terminal term ON term.id = t.terminal_id
             WHERE term.merchant_id = %s AND t.status = 'approved' AND t.meal_kind = %s
               AND t.business_date >= %s AND t.business_date < %s AND t.employee_id IS NOT NULL
             GROUP BY t.employee_id
            HAVING count(DISTINCT t.business_date) >= %s
            """,
            (self.merchant_id.id, meal_kind, day - timedelta(weeks=weeks), day, times),
        )
        return self.env["hr.employee"].sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _canteen_remind(self, meal, day):
        self.ensure_one()
        booked = (
            self.env["canteen.booking"]
            .sudo()
            .search([("date", "=", day), ("meal_kind", "=", meal.meal_kind), ("state", "=", "booked")])
            .employee_id
        )
        people = (self._canteen_usual_eaters(meal.meal_kind, day) - booked).filtered(
            lambda e: e.user_id and e.cardholder_state == "active"
        )
        label = dict(meal._fields["meal_kind"]._description_selection(self.env)).get(meal.meal_kind)
        for employee in people:
            employee.message_notify(
                partner_ids=employee.user_id.partner_id.ids,
                subject=self.env._("Book your meal"),
                body=self.env._(
                    "You have not booked %(meal)s of %(day)s at %(canteen)s. Booking closes at %(cutoff)s.",
                    meal=label,
                    day=day,
                    canteen=self.name,
                    cutoff=meal._format_local(meal._cutoff(day)),
                ),
            )
        return people
