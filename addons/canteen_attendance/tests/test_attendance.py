import itertools
from datetime import UTC, datetime, timedelta

from odoo.tests import TransactionCase, tagged

from odoo.addons.canteen_pos_bridge.tools import charge_engine, topup_engine
from odoo.addons.canteen_pos_bridge.tools.sql_unit import Unit


@tagged("post_install", "-at_install")
class TestAttendance(TransactionCase):
    """Identifications an attendance point reports become check-ins and check-outs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Attendance HQ"})
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company.id]))
        cls.person = cls.env["hr.employee"].create(
            {"name": "Ada", "employee_no": "AT001", "company_id": cls.company.id}
        )
        cls.clock = cls.env["canteen.terminal"].create(
            {
                "name": "Gate",
                "number": 1,
                "serial": "GATE-1",
                "kind": "face",
                "company_id": cls.company.id,
                "attendance_point": True,
            }
        )
        cls.seqs = itertools.count(1)
        cls.start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)

    def seen(self, minutes, seq=None):
        """The gate reports Ada `minutes` after the start."""
        self.env.flush_all()
        loaded = charge_engine.load_terminal(self.env.cr, self.clock.serial)
        request = {
            "seq": seq or next(self.seqs),
            "identity": {"type": "employee", "value": "AT001"},
            "occurred_at": (self.start + timedelta(minutes=minutes)).isoformat(),
        }
        answer = topup_engine.attendance(Unit.savepoint(self.env.cr, "gate"), loaded, request)
        self.env.invalidate_all()
        return answer

    def process(self):
        events = self.env["canteen.attendance.event"]._cron_process()
        self.env.invalidate_all()
        return events.filtered(lambda event: event.terminal_id == self.clock)  # not the demo's

    def test_check_in_then_check_out(self):
        self.assertEqual(self.seen(0)["status"], "recorded")
        self.seen(0.5)  # the same visit: the terminal saw her twice
        self.assertEqual(self.process().mapped("state"), ["check_in", "ignored"])
        attendance = self.env["hr.attendance"].search([("employee_id", "=", self.person.id)])
        self.assertEqual(attendance.check_in, self.start.replace(tzinfo=None))
        self.assertFalse(attendance.check_out)
        self.assertEqual(self.person.attendance_state, "checked_in")

        self.seen(120, seq=50)
        self.seen(120, seq=50)  # a replay records nothing more
        self.assertEqual(self.process().mapped("state"), ["check_out"])
        self.assertEqual(attendance.check_out, (self.start + timedelta(minutes=120)).replace(tzinfo=None))
        self.assertEqual(attendance.in_mode, "kiosk")
        self.assertEqual(self.person.attendance_state, "checked_out")

        self.seen(150)
        self.seen(60)  # uploaded late, older than her last attendance
        self.assertEqual(self.process().mapped("state"), ["ignored", "check_in"])
        self.assertEqual(self.env["hr.attendance"].search_count([("employee_id", "=", self.person.id)]), 2)
        self.assertFalse(self.process(), "nothing left to process")

    def test_events_of_a_terminal_that_is_no_attendance_point_are_refused(self):
        self.clock.attendance_point = False
        with self.assertRaises(topup_engine.Refused):
            self.seen(0)
        self.assertFalse(self.env["canteen.attendance.event"].search([("terminal_id", "=", self.clock.id)]))
