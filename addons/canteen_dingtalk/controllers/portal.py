from odoo import http
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class DingtalkPortal(CustomerPortal):
    """/my/dingtalk: a cardholder stops or resumes their own DingTalk balance messages. The
    choice is written on the logged-in user only (res.users' own-preferences path); nothing from
    the request names a person."""

    def _prepare_portal_layout_values(self):
        values = super()._prepare_portal_layout_values()
        if not request.env.user._is_public():
            values["dingtalk_cardholder"] = request.env.user.dingtalk_cardholder
        return values

    @http.route(["/my/dingtalk"], type="http", auth="user", website=True, methods=["GET", "POST"])
    def dingtalk_messages(self, **post):
        user = request.env.user
        saved = False
        if request.httprequest.method == "POST":
            user.write({"dingtalk_opt_out": bool(post.get("opt_out"))})
            saved = True
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "dingtalk_messages",
                "dingtalk_opt_out": user.dingtalk_opt_out,
                "dingtalk_saved": saved,
            }
        )
        return request.render("canteen_dingtalk.portal_my_dingtalk", values)
