"""Which companies' cards (and faces) a terminal serves, in SQL, in one place: the black and
white lists it receives (tools/delivery_sql.py), the faces it is sent and searched among
(canteen_face, tools/face_sql.py), and the terminals a company's change reaches.

A terminal serves the cards of the companies of its group whose settings accept them at the
terminal's merchant: its merchant's company's own, always, and by the *Cards Across the Group*
settings those of its parents, siblings and branches (部分园区卡可跨园区使用; a branch's cards
are accepted at its parents' merchants unless the branch says otherwise). That rule is the
charge path's own, `charge_sql.ALLOWED` (res.company._canteen_accepts_cards_at in Python), used
here as it is, so that a card is on a terminal's list exactly where the bridge would charge it:
a whitelist never lets a card pay offline where its upload would be declined.
"""

from . import charge_sql

# (terminal_id, company_id): the companies each terminal `st` picked by `{where}` serves. The
# aliases are the caller's: `st` (canteen_terminal), `tc` (its company), `sc` (a company served).
SERVED = """
    SELECT st.id AS terminal_id, sc.id AS company_id
      FROM canteen_terminal st
      JOIN res_company tc ON tc.id = st.company_id
      JOIN res_company sc ON sc.parent_path LIKE split_part(tc.parent_path, '/', 1) || '/%%'
     WHERE ({where})
       AND {allowed}
"""
_ALLOWED = charge_sql.ALLOWED.format(company="sc.id", terminal="st.id")


def served(where):
    """The SELECT of (terminal_id, company_id) pairs for the terminals matching `where` (SQL
    text over `st`, `tc` and `sc`, with the caller's placeholders)."""
    return SERVED.format(where=where, allowed=_ALLOWED)


# The company ids one terminal serves (a named parameter `terminal`).
TERMINAL_COMPANIES = f"SELECT company_id FROM ({served('st.id = %(terminal)s')}) AS served"  # noqa: S608
# The companies each of several terminals serves (a list of terminal ids).
TERMINALS_COMPANIES = served("st.id = ANY(%s)")
# The enabled terminals (cashiers' virtual ones aside) that serve the cards of one company.
TERMINALS_SERVING = f"""
    SELECT terminal_id FROM ({served("st.enabled AND st.active AND st.kind != 'cashier'")}) AS served
     WHERE company_id = %s
"""  # noqa: S608 - constants
# A terminal's backlog: the list changes of the companies it serves and its own commands after
# its cursor.
BEHIND = f"""
    SELECT (SELECT COUNT(*) FROM canteen_card_list_change l
             WHERE l.position > %(cursor)s AND l.company_id IN ({TERMINAL_COMPANIES}))
         + (SELECT COUNT(*) FROM canteen_terminal_command c
             WHERE c.terminal_id = %(terminal)s AND c.position > %(cursor)s)
"""  # noqa: S608 - constants
