import time

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.canteen_card.tools.access import check_caller
from odoo.addons.canteen_pos_bridge.tools import charge_engine


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    @api.model
    def canteen_report_own_card_lost(self):
        """A cardholder reports their own card lost from the portal: the same card path as the
        card desk (terminals learn it through the card list). Takes no ids: always the caller's."""
        employee = self.env["canteen.booking"]._canteen_portal_employee()
        if not employee or employee.user_id != self.env.user:
            raise AccessError(self.env._("Your user is not linked to a cardholder."))
        card = employee.current_card_id
        if not card or card.state != "active":
            raise UserError(self.env._("You have no active card to report lost."))
        card.sudo().action_report_loss()
        return True

    def _canteen_qr_payload(self):
        """A payment QR code for this cardholder's active card, valid for a minute (the bridge
        verifies it: see docs/terminal-protocol.md); None without an active card. Callers give
        only the logged-in user's own employee record."""
        self.ensure_one()
        card = self.sudo().current_card_id
        if not card or card.state != "active" or self.sudo().cardholder_state != "active":
            return None
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret") or ""
        expires = int(time.time()) + charge_engine.QR_LIFETIME
        return charge_engine.qr_payload(charge_engine.qr_key(secret), card.uid, expires)

    def action_canteen_create_portal_users(self):
        """Create portal users for these cardholders (login: work e-mail, else mobile phone) and
        link them to their employee record; people who already have a user are left alone."""
        check_caller(self.env, ("hr.group_hr_user", "canteen_card.group_card_operator"), self.company_id)
        portal = self.env.ref("base.group_portal")
        Users = self.env["res.users"].sudo().with_context(no_reset_password=True)
        created = Users.browse()
        missing = []
        for employee in self.sudo().filtered(lambda e: not e.user_id):
            login = (employee.work_email or employee.mobile_phone or "").strip()
            if not login:
                missing.append(employee.name)
                continue
            if Users.with_context(active_test=False).search_count([("login", "=", login)]):
                missing.append(employee.name)
                continue
            user = Users.create(
                {
                    "name": employee.name,
                    "login": login,
                    "email": employee.work_email or False,
                    "company_id": employee.company_id.id,
                    "company_ids": [(6, 0, employee.company_id.ids)],
                    "groups_id": [(6, 0, portal.ids)],
                }
            )
            employee.user_id = user
            created |= user
        message = self.env._("%(count)s portal users created.", count=len(created))
        if missing:
            message += " " + self.env._(
                "Without an e-mail or phone, or with a login already taken: %(people)s",
                people=", ".join(missing),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "sticky": bool(missing),
                "type": "warning" if missing else "success",
            },
        }
