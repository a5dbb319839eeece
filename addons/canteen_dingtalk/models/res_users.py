from odoo import api, fields, models
from odoo.exceptions import AccessError


class ResUsers(models.Model):
    _inherit = "res.users"

    dingtalk_opt_out = fields.Boolean(
        string="No DingTalk Balance Messages",
        compute="_compute_dingtalk_opt_out",
        inverse="_inverse_dingtalk_opt_out",
        help="Do not send me a DingTalk message at each change of my canteen card balance.",
    )
    dingtalk_cardholder = fields.Boolean(
        string="DingTalk Cardholder",
        compute="_compute_dingtalk_opt_out",
        help="The user is an employee (a cardholder) who may receive balance messages.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "dingtalk_opt_out", "dingtalk_cardholder"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return [*super().SELF_WRITEABLE_FIELDS, "dingtalk_opt_out"]

    def _dingtalk_employees(self):
        return (
            self.env["hr.employee"]
            .sudo()
            .with_context(active_test=False)
            .search([("user_id", "in", self.ids)])
        )

    def _compute_dingtalk_opt_out(self):
        employees = self._dingtalk_employees()
        for user in self:
            own = employees.filtered(lambda e, user=user: e.user_id == user)
            user.dingtalk_cardholder = bool(own)
            user.dingtalk_opt_out = bool(own) and all(own.mapped("dingtalk_opt_out"))

    def _inverse_dingtalk_opt_out(self):
        for user in self:
            user._dingtalk_employees().sudo().write({"dingtalk_opt_out": user.dingtalk_opt_out})

    # CRUD --------------------------------------------------------------------------------------
    def write(self, vals):
        # Only the person opts out (res.users writes a user's own safe fields as superuser):
        # another user, an administrator of users included, is refused.
        if "dingtalk_opt_out" in vals and not self.env.su and self != self.env.user:
            raise AccessError(
                self.env._(
                    "Only the person can stop their DingTalk balance messages, in their own preferences."
                )
            )
        return super().write(vals)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any("dingtalk_opt_out" in vals for vals in vals_list):
            raise AccessError(
                self.env._(
                    "Only the person can stop their DingTalk balance messages, in their own preferences."
                )
            )
        return super().create(vals_list)
