from . import canteen_booking_report
from . import canteen_monthly_bill_report
