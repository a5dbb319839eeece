from . import canteen_report, canteen_report_export
