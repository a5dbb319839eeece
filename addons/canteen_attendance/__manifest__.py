{
    "name": "Canteen Attendance",
    "summary": "Face terminals as time clocks: their identifications become check-ins and check-outs",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card", "canteen_pos_bridge", "hr_attendance"],
    "data": [
        "security/canteen_attendance_groups.xml",
        "data/ir_cron_data.xml",
        "views/canteen_attendance_event_views.xml",
    ],
    "auto_install": True,
}
