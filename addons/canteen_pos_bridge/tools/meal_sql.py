"""The SQL the charge path runs when canteen_meal_booking is installed (the bridge never imports
that addon's Python; it reads its tables when they exist).

A terminal whose merchant is a canteen's learns at load time whether the canteen requires a
booking; the charges of such terminals, and of terminals in menu mode, are read with `READ`
below instead of `charge_sql.READ`: the same read with two more columns, in the same round trip.
"""

from . import charge_sql

# Whether canteen_meal_booking's tables exist, and the QR signing key (see charge_engine.qr_key).
TERMINAL_EXTRAS = """
    SELECT to_regclass('canteen_canteen') IS NOT NULL AND to_regclass('canteen_booking') IS NOT NULL
           AND to_regclass('canteen_menu_line') IS NOT NULL,
           (SELECT value FROM ir_config_parameter WHERE key = 'database.secret')
"""
# The canteen of a merchant (one at most: canteen_canteen.merchant_uniq).
CANTEEN = """
    SELECT id, COALESCE(booking_required, FALSE) FROM canteen_canteen
     WHERE merchant_id = %s AND active
"""
# Per charge: the terminal's canteen, and whether to read the booking and the menu.
MEAL_BATCH = """,
    m AS (SELECT * FROM unnest(%(canteen)s::int[], %(booking)s::bool[], %(menu)s::bool[])
                        WITH ORDINALITY AS m(canteen, booking, menu, i))
"""
# `booked`: the person has a live booking of this meal today at this canteen (NULL when not
# asked); `menu_prices`: {dish code: price} of the canteen's published menu of the day and meal
# (NULL when not asked or when there is none).
MEAL_COLUMNS = """
           CASE WHEN m.booking AND q.meal IS NOT NULL THEN EXISTS (
               SELECT 1 FROM canteen_booking b
                WHERE b.employee_id = p.employee_id AND b.date = q.day AND b.meal_kind = q.meal
                  AND b.state = 'booked' AND b.canteen_id = m.canteen)
           END AS booked,
           CASE WHEN m.menu AND q.meal IS NOT NULL THEN (
               SELECT json_object_agg(d.code, l.price::text)
                 FROM canteen_menu u
                 JOIN canteen_menu_line l ON l.menu_id = u.id
                 JOIN canteen_dish d ON d.id = l.dish_id
                WHERE u.canteen_id = m.canteen AND u.date = q.day AND u.meal_kind = q.meal
                  AND u.state = 'published' AND d.code IS NOT NULL)
           END AS menu_prices,
"""
MEAL_JOIN = "LEFT JOIN m ON m.i = q.i"
READ = charge_sql.read_query(MEAL_BATCH, MEAL_COLUMNS, MEAL_JOIN)
READ_KEYS = ("canteen", "booking", "menu")
