{
    "name": "Canteen Card",
    "summary": "Cardholders, cards, cash and subsidy wallets, immutable ledger and clearing",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["hr", "account"],
    "data": [
        "security/canteen_card_groups.xml",
        "views/canteen_card_menus.xml",
        "views/hr_department_views.xml",
        "views/hr_employee_views.xml",
    ],
    "demo": [
        "demo/res_company_demo.xml",
        "demo/hr_department_demo.xml",
        "demo/hr_employee_demo.xml",
    ],
    "application": True,
}
