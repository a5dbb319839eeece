from datetime import timedelta

from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class CanteenPortal(CustomerPortal):
    """/my/canteen for cardholders, /my/canteen/manage for canteen managers. Every record is
    looked up from the logged-in user on the server; ids from the URL only select among them."""

    # helpers -------------------------------------------------------------------------------
    def _canteen_employee(self):
        return request.env["canteen.booking"]._canteen_portal_employee()

    def _canteen_managed(self):
        Canteen = request.env["canteen.canteen"]
        return Canteen.sudo().search(Canteen._canteen_managed_domain())

    def _canteen_flash(self, kind, text):
        request.session["canteen_flash"] = {"kind": kind, "text": text}

    @staticmethod
    def _canteen_date(value, default):
        try:
            return fields.Date.to_date(value) if value else default
        except ValueError:
            return default

    def _prepare_portal_layout_values(self):
        values = super()._prepare_portal_layout_values()
        if not request.env.user._is_public():
            values["canteen_is_cardholder"] = bool(self._canteen_employee())
            values["canteen_is_manager"] = bool(self._canteen_managed())
        return values

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "canteen_booking_count" in counters:
            employee = self._canteen_employee()
            values["canteen_booking_count"] = (
                request.env["canteen.booking"]
                .sudo()
                .search_count(
                    [
                        ("employee_id", "=", employee.id),
                        ("state", "=", "booked"),
                        ("date", ">=", fields.Date.context_today(employee)),
                    ]
                )
                if employee
                else 0
            )
        return values

    # cardholders ---------------------------------------------------------------------------
    @http.route(["/my/canteen"], type="http", auth="user", website=True, methods=["GET"])
    def portal_my_canteen(self, week=None, canteen_id=None, **kw):
        employee = self._canteen_employee()
        if not employee:
            raise NotFound()
        values = self._prepare_portal_layout_values()
        today = fields.Date.context_today(employee)
        start = self._canteen_date(week, today)
        start -= timedelta(days=start.weekday())
        values.update(
            request.env["canteen.booking"]._canteen_portal_page(employee, start, canteen_id),
            page_name="canteen",
            today=today,
            flash=request.session.pop("canteen_flash", None),
        )
        return request.render("canteen_meal_booking.portal_my_canteen", values)

    @http.route(["/my/canteen/book"], type="http", auth="user", website=True, methods=["POST"])
    def portal_canteen_book(self, canteen_id=None, date=None, meal_kind=None, week=None, **kw):
        Booking = request.env["canteen.booking"]
        try:
            if meal_kind == "all":
                Booking.book_whole_day(int(canteen_id), date)
            else:
                dish_ids = [int(v) for v in request.httprequest.form.getlist("menu_line_ids") if v.isdigit()]
                Booking.book(int(canteen_id), date, meal_kind, menu_line_ids=dish_ids or None)
            self._canteen_flash("success", request.env._("Booked."))
        except (UserError, AccessError, ValueError, TypeError) as error:
            self._canteen_flash("danger", str(error.args[0]) if error.args else request.env._("Refused."))
        return request.redirect(f"/my/canteen?week={week or date or ''}&canteen_id={canteen_id or ''}")

    @http.route(
        ["/my/canteen/booking/<int:booking_id>/cancel"],
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def portal_canteen_cancel(self, booking_id, **kw):
        booking = request.env["canteen.booking"].search([("id", "=", booking_id)])
        employee = self._canteen_employee()
        # Only one's own booking: another person's id is "not found", whatever a manager may do.
        if not booking or not employee or booking.sudo().employee_id != employee:
            raise NotFound()
        try:
            booking.action_cancel()
            self._canteen_flash("success", request.env._("Booking cancelled."))
        except (UserError, AccessError) as error:
            self._canteen_flash("danger", str(error.args[0]))
        return request.redirect(
            f"/my/canteen?week={booking.sudo().date}&canteen_id={booking.sudo().canteen_id.id}"
        )

    @http.route(["/my/canteen/card/lost"], type="http", auth="user", website=True, methods=["POST"])
    def portal_canteen_card_lost(self, confirm=None, **kw):
        if confirm != "yes":
            self._canteen_flash("danger", request.env._("Tick the confirmation to report your card lost."))
            return request.redirect("/my/canteen")
        try:
            request.env["hr.employee"].canteen_report_own_card_lost()
            self._canteen_flash(
                "success",
                request.env._("Your card is blocked. Go to the card desk to unblock or replace it."),
            )
        except (UserError, AccessError) as error:
            self._canteen_flash("danger", str(error.args[0]))
        return request.redirect("/my/canteen")

    @http.route(["/my/canteen/pay"], type="http", auth="user", website=True, methods=["GET"])
    def portal_canteen_pay(self, **kw):
        employee = self._canteen_employee()
        if not employee:
            raise NotFound()
        values = self._prepare_portal_layout_values()
        values.update(
            page_name="canteen_pay",
            employee=employee,
            card=employee.current_card_id,
            payable=bool(employee._canteen_qr_payload()),
        )
        return request.render("canteen_meal_booking.portal_my_canteen_pay", values)

    @http.route(["/my/canteen/pay/qr.png"], type="http", auth="user", methods=["GET"])
    def portal_canteen_pay_qr(self, **kw):
        """A fresh payment QR code of the user's own active card (404 without one)."""
        employee = self._canteen_employee()
        payload = employee._canteen_qr_payload() if employee else None
        if not payload:
            raise NotFound()
        image = request.env["ir.actions.report"].barcode("QR", payload, width=240, height=240, barLevel="M")
        return request.make_response(
            image, headers=[("Content-Type", "image/png"), ("Cache-Control", "no-store")]
        )

    @http.route(["/my/canteen/bills"], type="http", auth="user", website=True, methods=["GET"])
    def portal_canteen_bills(self, month=None, **kw):
        employee = self._canteen_employee()
        if not employee:
            raise NotFound()
        values = self._prepare_portal_layout_values()
        values.update(
            request.env["canteen.booking"]._canteen_portal_month(employee, month),
            page_name="canteen_bills",
        )
        return request.render("canteen_meal_booking.portal_my_canteen_bills", values)

    @http.route(["/my/canteen/bills.pdf"], type="http", auth="user", website=True, methods=["GET"])
    def portal_canteen_bills_pdf(self, month=None, **kw):
        employee = self._canteen_employee()
        if not employee:
            raise NotFound()
        month = request.env["canteen.booking"]._canteen_portal_month(employee, month)["month"]
        pdf, _kind = (
            request.env["ir.actions.report"]
            .sudo()
            ._render_qweb_pdf(
                "canteen_meal_booking.action_report_monthly_bill", employee.ids, data={"month": month}
            )
        )
        return request.make_response(
            pdf,
            headers=[
                ("Content-Type", "application/pdf"),
                ("Content-Disposition", f'attachment; filename="canteen-bill-{month}.pdf"'),
            ],
        )

    # canteen managers ----------------------------------------------------------------------
    @http.route(["/my/canteen/manage"], type="http", auth="user", website=True, methods=["GET"])
    def portal_canteen_manage(self, **kw):
        canteens = self._canteen_managed()
        if not canteens:
            raise NotFound()
        if len(canteens) == 1:
            return request.redirect(f"/my/canteen/manage/{canteens.id}")
        values = self._prepare_portal_layout_values()
        values.update(page_name="canteen_manage", canteens=canteens)
        return request.render("canteen_meal_booking.portal_canteen_manage_list", values)

    def _canteen_check_managed(self, canteen_id):
        canteen = request.env["canteen.canteen"].sudo().browse(canteen_id).exists()
        if not canteen or not canteen._canteen_is_managed_by(request.env.user):
            raise NotFound()
        return canteen

    @http.route(
        ["/my/canteen/manage/<int:canteen_id>"], type="http", auth="user", website=True, methods=["GET"]
    )
    def portal_canteen_manage_canteen(self, canteen_id, date=None, **kw):
        canteen = self._canteen_check_managed(canteen_id)
        today = fields.Date.context_today(canteen)
        day = self._canteen_date(date, today)
        values = self._prepare_portal_layout_values()
        values.update(
            canteen._canteen_manager_page(day),
            page_name="canteen_manage_canteen",
            canteen=canteen,
            many_canteens=len(self._canteen_managed()) > 1,
            flash=request.session.pop("canteen_flash", None),
        )
        return request.render("canteen_meal_booking.portal_canteen_manage_canteen", values)

    @http.route(
        ["/my/canteen/manage/<int:canteen_id>/day.xlsx"],
        type="http",
        auth="user",
        website=True,
        methods=["GET"],
    )
    def portal_canteen_day_sheet(self, canteen_id, date=None, **kw):
        canteen = self._canteen_check_managed(canteen_id)
        day = self._canteen_date(date, fields.Date.context_today(canteen))
        content = canteen._canteen_day_sheet_xlsx(day)
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("Content-Disposition", f'attachment; filename="canteen-{canteen.id}-{day}.xlsx"'),
            ],
        )

    @http.route(
        ["/my/canteen/manage/<int:canteen_id>/add_dish"],
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def portal_canteen_add_dish(self, canteen_id, date=None, meal_kind=None, dish_id=None, **kw):
        canteen = self._canteen_check_managed(canteen_id)
        day = self._canteen_date(date, fields.Date.context_today(canteen))
        try:
            dish = request.env["canteen.dish"].sudo().browse(int(dish_id or 0))
            request.env["canteen.menu"]._canteen_portal_add_dish(canteen, day, meal_kind, dish)
        except (UserError, AccessError, ValueError) as error:
            self._canteen_flash("danger", str(error.args[0]))
        return request.redirect(f"/my/canteen/manage/{canteen.id}?date={day}")

    @http.route(
        ["/my/canteen/manage/menu/<int:menu_id>/remove/<int:line_id>"],
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def portal_canteen_remove_dish(self, menu_id, line_id, **kw):
        menu = request.env["canteen.menu"].sudo().browse(menu_id).exists()
        if not menu:
            raise NotFound()
        self._canteen_check_managed(menu.canteen_id.id)
        line = menu.line_ids.filtered(lambda item: item.id == line_id)
        if not line:
            raise NotFound()
        try:
            menu._canteen_portal_remove_line(line)
        except (UserError, AccessError) as error:
            self._canteen_flash("danger", str(error.args[0]))
        return request.redirect(f"/my/canteen/manage/{menu.canteen_id.id}?date={menu.date}")

    @http.route(
        ["/my/canteen/manage/menu/<int:menu_id>/<any(publish,unpublish,copy_day):action>"],
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def portal_canteen_menu_state(self, menu_id, action, **kw):
        menu = request.env["canteen.menu"].sudo().browse(menu_id).exists()
        if not menu:
            raise NotFound()
        self._canteen_check_managed(menu.canteen_id.id)
        try:
            # The model method checks the manager again, as the user (sudo keeps the user).
            if action == "copy_day":
                menu.action_copy_day()
            elif action == "publish":
                menu.action_publish()
            else:
                menu.action_unpublish()
            self._canteen_flash("success", request.env._("Menu updated."))
        except (UserError, AccessError) as error:
            self._canteen_flash("danger", str(error.args[0]))
        return request.redirect(f"/my/canteen/manage/{menu.canteen_id.id}?date={menu.date}")
