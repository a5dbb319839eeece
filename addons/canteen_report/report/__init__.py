from . import canteen_report_summary
