from odoo import fields, models


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
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The person asked not to receive a DingTalk message at each balance change.",
    )

    _sql_constraints = [
        (
            "dingtalk_userid_company_uniq",
            "unique (company_id, dingtalk_userid)",
            "A DingTalk user is linked to one employee per company.",
        ),
    ]
