from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

# The same person seen again this soon after their last check-in or check-out is the same visit.
SAME_VISIT = timedelta(minutes=1)


class CanteenAttendanceEvent(models.Model):
    _inherit = "canteen.attendance.event"

    attendance_id = fields.Many2one("hr.attendance", readonly=True, help="The check-in or check-out it made.")

    @api.model
    def _cron_process(self, limit=5000):
        """Turn recorded events into check-ins and check-outs, oldest first (the bridge asks
        for a run with each event through an ir.cron trigger)."""
        events = self.sudo().search(
            [("state", "=", "pending"), ("status", "=", "recorded"), ("employee_id", "!=", False)],
            order="occurred_at, id",
            limit=limit,
        )
        for event in events:
            event._process()
        return events

    def _process(self):
        """A check-in when the person has no open attendance, else the check-out of it; the same
        visit again (within a minute) or an event older than the person's last attendance is
        ignored; what hr_attendance refuses is failed, with its message."""
        self.ensure_one()
        Attendance = self.env["hr.attendance"].sudo()
        moment = self.occurred_at
        last = Attendance.search([("employee_id", "=", self.employee_id.id)], order="check_in desc", limit=1)
        last_moment = last and (last.check_out or last.check_in)
        try:
            with self.env.cr.savepoint():
                if last and moment <= last_moment + SAME_VISIT:
                    note = (
                        self.env._("Seen again within a minute.")
                        if moment >= last_moment
                        else self.env._("Older than the person's last attendance.")
                    )
                    self.sudo().write({"state": "ignored", "note": note, "attendance_id": last.id})
                    return
                if last and not last.check_out:
                    last.write({"check_out": moment, "out_mode": "kiosk"})
                    self.sudo().write({"state": "check_out", "attendance_id": last.id, "note": False})
                    return
                attendance = Attendance.create(
                    {"employee_id": self.employee_id.id, "check_in": moment, "in_mode": "kiosk"}
                )
                self.sudo().write({"state": "check_in", "attendance_id": attendance.id, "note": False})
        except (UserError, ValidationError) as error:
            self.sudo().write({"state": "failed", "note": str(error.args[0])[:250]})
