"""The SQL of face identification in the bridge (tables of canteen_face, when it is installed)."""

from .served_sql import TERMINAL_COMPANIES

# Whether canteen_face is installed in this database (its table exists).
FACES_INSTALLED = "SELECT to_regclass('canteen_face') IS NOT NULL"
# The companies whose faces a terminal searches: those whose cards it serves (served_sql), read
# at each identification, so that a company's acceptance setting counts from its commit.
SERVED_COMPANIES = TERMINAL_COMPANIES
# The current faces, as each bridge process loads them at start (and after a lost LISTEN).
CURRENT_FACES = """
    SELECT f.id, f.employee_id, f.company_id, f.embedding FROM canteen_face f
     WHERE f.is_current AND f.state = 'valid' AND f.embedding IS NOT NULL
"""
# One face, after a NOTIFY: the row when it is current, nothing when it is not (any more).
CURRENT_FACE = CURRENT_FACES + " AND f.id = %s"
# A company's match settings.
SETTINGS = """
    SELECT COALESCE(canteen_face_match_threshold, 0.5), COALESCE(canteen_face_match_margin, 0.05)
      FROM res_company WHERE id = %s::int
"""
# The matched face, checked in the request's own transaction: still current, its person still
# active (a face withdrawn a moment ago, before this process heard of it, never matches).
MATCHED = """
    SELECT f.id, e.id, e.employee_no, e.name, e.canteen_face_id
      FROM canteen_face f JOIN hr_employee e ON e.id = f.employee_id
     WHERE f.id = %s::int AND f.is_current AND f.state = 'valid' AND e.active
"""
