{
    "name": "Canteen Terminals and Bridge",
    "summary": "Terminals registered in Odoo and the gevent bridge that serves them",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card"],
    "data": [
        "security/canteen_pos_bridge_groups.xml",
        "security/ir.model.access.csv",
        "security/canteen_pos_bridge_rules.xml",
        "views/canteen_terminal_views.xml",
    ],
}
