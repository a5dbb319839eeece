{
    "name": "Canteen Reports",
    "summary": "Details and summaries of the card office (明细, 统计) on screen, as PDF and as Excel",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card", "canteen_pos_bridge", "web"],
    "external_dependencies": {"python": ["xlsxwriter"]},
    "data": [
        "security/canteen_report_groups.xml",
        "security/ir.model.access.csv",
        "security/canteen_report_rules.xml",
        "data/ir_cron_data.xml",
        "report/canteen_report_templates.xml",
        "views/canteen_report_views.xml",
    ],
}
