from . import canteen_booking_report
