from . import canteen_attendance_event
