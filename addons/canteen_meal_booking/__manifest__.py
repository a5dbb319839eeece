{
    "name": "Canteen Meal Booking",
    "summary": "Canteens, meal periods, menus, bookings and the website portal",
    "version": "18.0.1.0.0",
    "category": "Human Resources/Canteen",
    "website": "https://github.com/canteen-suite/canteen",
    "author": "Canteen Suite",
    "license": "LGPL-3",
    "depends": ["canteen_card", "portal"],
    "data": [
        "security/canteen_meal_booking_groups.xml",
        "security/ir.model.access.csv",
        "security/canteen_meal_booking_rules.xml",
        "views/canteen_canteen_views.xml",
    ],
    "demo": ["demo/canteen_canteen_demo.xml"],
}
