from odoo import api, fields, models
from odoo.exceptions import AccessError

ADMIN = "canteen_dingtalk.group_dingtalk_admin"


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    dingtalk_userid = fields.Char(
        string="DingTalk User",
        copy=False,
        index="btree_not_null",
        readonly=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The DingTalk userid this person is synchronised from and messaged at.",
    )
    dingtalk_opt_out = fields.Boolean(
        string="No DingTalk Balance Messages",
        copy=False,
        readonly=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The person asked not to receive a DingTalk message at each balance change. Only the "
        "person sets it, in their own preferences or on the portal (My Account > DingTalk Messages).",
    )

    _sql_constraints = [
        (
            "dingtalk_userid_company_uniq",
            "unique (company_id, dingtalk_userid)",
            "A DingTalk user is linked to one employee per company.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("dingtalk_userid") for vals in vals_list):
            self._check_dingtalk_userid_access()
        if any(vals.get("dingtalk_opt_out") for vals in vals_list):
            self._check_dingtalk_opt_out_access()
        return super().create(vals_list)

    def write(self, vals):
        if "dingtalk_userid" in vals:
            self._check_dingtalk_userid_access()
        if "dingtalk_opt_out" in vals:
            self._check_dingtalk_opt_out_access()
        return super().write(vals)

    def _check_dingtalk_userid_access(self):
        # The userid decides who reads a person's balance messages: only the sync (sudo) and
        # DingTalk Administrators set it.
        if not self.env.su and not self.env.user.has_group(ADMIN):
            raise AccessError(self.env._("Only DingTalk Administrators can link people to DingTalk users."))

    def _check_dingtalk_opt_out_access(self):
        # The messages warn a person of every charge on their card: nobody else may silence
        # them, an officer or administrator included. The person's own choice is written by
        # res.users (their preferences, the portal) as superuser.
        if not self.env.su:
            raise AccessError(
                self.env._(
                    "Only the person can stop their DingTalk balance messages, in their own preferences."
                )
            )
