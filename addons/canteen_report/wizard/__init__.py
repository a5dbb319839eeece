from . import canteen_report_wizard
