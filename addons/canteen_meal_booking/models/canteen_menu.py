from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.canteen_pos_bridge.models.canteen_meal_period import MEAL_KIND_SELECTION


class CanteenMenu(models.Model):
    """What a canteen serves at one meal of one day. Drafted, then published for cardholders."""

    _name = "canteen.menu"
    _description = "Menu"
    _order = "date desc, canteen_id, meal_kind"
    _check_company_auto = True

    canteen_id = fields.Many2one(
        "canteen.canteen",
        required=True,
        index=True,
        check_company=True,
        ondelete="cascade",
        help="The canteen that serves the menu.",
    )
    company_id = fields.Many2one(
        related="canteen_id.company_id",
        store=True,
        index=True,
        string="Company",
        help="The canteen's company.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    date = fields.Date(required=True, index=True, help="Day the menu is served.")
    meal_kind = fields.Selection(MEAL_KIND_SELECTION, string="Meal", required=True, help="Meal of the day.")
    state = fields.Selection(
        [("draft", "Draft"), ("published", "Published")],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        help="Only published menus are shown to cardholders.",
    )
    line_ids = fields.One2many(
        "canteen.menu.line", "menu_id", string="Dishes", copy=True, help="Dishes served and their prices."
    )
    note = fields.Text(translate=True, help="Shown to cardholders under the menu.")

    _sql_constraints = [
        (
            "canteen_date_meal_uniq",
            "unique (canteen_id, date, meal_kind)",
            "A canteen has one menu per day and meal.",
        ),
    ]

    @api.depends("canteen_id", "date", "meal_kind")
    def _compute_display_name(self):
        labels = dict(self._fields["meal_kind"]._description_selection(self.env))
        for menu in self:
            menu.display_name = f"{menu.canteen_id.name} {menu.date or ''} {labels.get(menu.meal_kind, '')}"

    # actions -------------------------------------------------------------------------------
    def _check_manager(self):
        if not self.canteen_id._canteen_is_managed_by(self.env.user):
            raise AccessError(self.env._("Only the managers of a canteen change its menus."))

    def action_publish(self):
        self._check_manager()
        empty = self.filtered(lambda m: not m.line_ids)
        if empty:
            raise UserError(
                self.env._(
                    "A menu without dishes cannot be published: %(menus)s", menus=empty[0].display_name
                )
            )
        self.sudo().write({"state": "published"})
        return True

    def action_unpublish(self):
        self._check_manager()
        self.sudo().write({"state": "draft"})
        return True

    def action_copy_day(self):
        """Copy every menu of these menus' canteens and days to the day after (as drafts)."""
        return self._copy_period(1, 1)

    def action_copy_week(self):
        """Copy every menu of these menus' canteens and weeks (Monday to Sunday) to the next week."""
        return self._copy_period(7, 7)

    def _copy_period(self, length, shift):
        self._check_manager()
        created = self.browse()
        done = set()
        for menu in self:
            start = menu.date - timedelta(days=menu.date.weekday()) if length == 7 else menu.date
            key = (menu.canteen_id.id, start)
            if key in done:
                continue
            done.add(key)
            created |= menu.canteen_id._canteen_copy_menus(start, start + timedelta(days=length - 1), shift)
        if not created:
            raise UserError(self.env._("The target days already have menus; nothing was copied."))
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_meal_booking.canteen_menu_action")
        action["domain"] = [("id", "in", created.ids)]
        return action

    @api.model
    def _canteen_portal_add_dish(self, canteen, day, meal_kind, dish):
        """Add a dish to the draft menu of a canteen's meal (creating the menu), for a manager."""
        if not canteen._canteen_is_managed_by(self.env.user):
            raise AccessError(self.env._("Only the managers of a canteen change its menus."))
        dish = dish.sudo()
        if not dish.exists() or dish.company_id not in canteen.company_id.parent_ids:
            raise UserError(self.env._("This dish is not served by %(canteen)s.", canteen=canteen.name))
        if meal_kind not in canteen.meal_ids.mapped("meal_kind"):
            raise UserError(self.env._("%(canteen)s does not serve this meal.", canteen=canteen.name))
        menu = self.sudo().search(
            [("canteen_id", "=", canteen.id), ("date", "=", day), ("meal_kind", "=", meal_kind)]
        ) or self.sudo().create({"canteen_id": canteen.id, "date": day, "meal_kind": meal_kind})
        if menu.state != "draft":
            raise UserError(self.env._("Put the menu back to draft before changing it."))
        menu.line_ids = [Command.create({"dish_id": dish.id})]
        return menu

    def _canteen_portal_remove_line(self, line):
        """Remove a dish from this draft menu, for a manager."""
        self.ensure_one()
        self._check_manager()
        if self.state != "draft" or line.menu_id != self:
            raise UserError(self.env._("Put the menu back to draft before changing it."))
        self.sudo().line_ids = [Command.unlink(line.id)]
