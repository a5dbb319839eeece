"""The SQL of the charge path, set-based: one text serves one charge or a batch of them, so
the bridge prepares each statement once per connection and sends a batch in two round trips.

A batch arrives as parallel arrays (one element per charge), unnested into `q` with its
ordinal `i`; parameters are named, in psycopg2's syntax, with explicit types for PREPARE.
"""

from odoo.addons.canteen_card.tools import ledger_core

# The charges of the batch: what each one asks, and where.
BATCH = """
    q AS (SELECT * FROM unnest(%(kind)s::varchar[], %(value)s::varchar[], %(path)s::varchar[],
                               %(terminal)s::int[], %(seq)s::int[], %(meal)s::varchar[],
                               %(day)s::date[], %(window)s::int[], %(priced)s::bool[])
                        WITH ORDINALITY AS q(kind, value, path, terminal, seq, meal, day, dedup, priced, i))
"""
# A cardholder by one of their columns, among the companies of the terminal's group (a card
# UID or an employee number names one live person in a whole group), with the number of people
# the value names there (more than one: ambiguous, declined). Whether the holder may pay at the
# terminal's merchant is the company rule of ALLOWED.
HOLDER_BY = """
            (SELECT e.id, c.id, c.state, c.lost_at, c.expiry_date, COUNT(*) OVER () AS matches
               FROM hr_employee e
               LEFT JOIN canteen_card c ON c.employee_id = e.id AND c.state IN ('active', 'lost')
              WHERE q.kind = '{kind}' AND e.{column} = q.value AND e.active
                AND e.company_id IN (SELECT b.id FROM res_company b
                                      WHERE b.parent_path LIKE split_part(q.path, '/', 1) || '/%%')
              LIMIT 1)"""
# The cardholder each identity names, among the companies of the terminal's group: a card
# UID (a dead card may share it: the live one, then the newest, wins; a payment QR code names
# one once the engine has checked its signature), an employee number or a face id. Only the
# branch of the identity's kind runs. `matches` counts the live cards (or the people) the value
# names in the subtree: more than one is ambiguous.
PERSON = f"""
    person AS (
        SELECT q.i, found.* FROM q CROSS JOIN LATERAL (
            (SELECT c.employee_id, c.id AS card_id, c.state, c.lost_at, c.expiry_date,
                    COUNT(*) FILTER (WHERE c.state IN ('active', 'lost')) OVER () AS matches
               FROM canteen_card c
              WHERE q.kind IN ('card', 'qr') AND c.uid = q.value
                AND c.company_id IN (SELECT b.id FROM res_company b
                                      WHERE b.parent_path LIKE split_part(q.path, '/', 1) || '/%%')
              ORDER BY c.state IN ('active', 'lost') DESC, c.id DESC LIMIT 1)
            UNION ALL {HOLDER_BY.format(kind="employee", column="employee_no")}
            UNION ALL {HOLDER_BY.format(kind="face", column="canteen_face_id")}
        ) AS found)
"""  # noqa: S608 - constants
# Whether the cardholder's company (`{company}`) accepts its cards at the merchant of the
# terminal `{terminal}` (res.company._canteen_accepts_cards_at in SQL): at its own merchants,
# at its parents', siblings' or branches' as its settings say (部分园区卡可跨园区使用). A terminal
# without a merchant (balance inquiries) stands for its own company.
ALLOWED = """
           (SELECT CASE WHEN w.id = mc.id THEN TRUE
                        WHEN w.parent_path LIKE mc.parent_path || '%%'
                             THEN COALESCE(w.canteen_cards_at_parent, TRUE)
                        WHEN mc.parent_path LIKE w.parent_path || '%%'
                             THEN COALESCE(w.canteen_cards_at_branches, FALSE)
                        WHEN w.parent_id = mc.parent_id THEN COALESCE(w.canteen_cards_at_siblings, FALSE)
                        ELSE FALSE END
              FROM canteen_terminal t
              LEFT JOIN canteen_merchant m ON m.id = t.merchant_id
              JOIN res_company mc ON mc.id = COALESCE(m.company_id, t.company_id)
              JOIN res_company w ON w.id = {company}
             WHERE t.id = {terminal})"""
# Lock the wallets of everyone in the batch, in id order (as the ledger core always does).
LOCK = f"WITH {BATCH}, {PERSON} " + ledger_core.LOCK_WALLETS.format(  # noqa: S608 - our own fragments
    employees="SELECT employee_id FROM person"
)


# Read after the lock: the seq's earlier answer, a transaction number, the person, the last
# charge within the dedup window, the rule of the meal and what was spent against it (not for
# an offline record: `priced` false, the meal was eaten and is charged as recorded), and
# last the account's columns (ledger_core.ACCOUNT_WIDTH of them). `read_query` takes more CTEs,
# columns and joins (tools/meal_sql.py adds the booking and the menu of canteens).
def read_query(ctes="", columns="", joins=""):
    return f"""
    WITH {BATCH}, {PERSON}{ctes}
    SELECT q.i,
           (SELECT response FROM canteen_transaction
             WHERE terminal_id = q.terminal AND seq = q.seq) AS previous,
           nextval('canteen_transaction_id_seq') AS tx_id, to_char(now(), 'YYYYMMDD') AS tx_day,
           p.employee_id, p.card_id, p.state, p.lost_at, p.expiry_date, p.matches, h.name, h.employee_no,
           {ALLOWED.format(company="h.company_id", terminal="q.terminal")} AS allowed_here,
           CASE WHEN q.dedup > 0 THEN
               (SELECT json_build_array(d.id, d.name) FROM canteen_transaction d
                  JOIN canteen_terminal dt ON dt.id = d.terminal_id
                 WHERE d.employee_id = p.employee_id AND d.status = 'approved'
                   AND NOT d.deduplicated AND NOT d.offline AND d.business_date >= q.day - 1
                   AND d.create_date > (now() AT TIME ZONE 'UTC') - make_interval(secs => q.dedup)
                   AND dt.mode IN ('fixed', 'count') AND dt.kind != 'cashier'
                   AND dt.merchant_id = (SELECT t.merchant_id FROM canteen_terminal t WHERE t.id = q.terminal)
                 ORDER BY d.id DESC LIMIT 1)
           END AS recent,
           CASE WHEN q.priced THEN
               (SELECT json_build_array(r.allowed, COALESCE(r.count_limit, 0),
                                        COALESCE(r.amount_limit, 0)::text, COALESCE(r.discount_percent, 0),
                                        COALESCE(g.daily_amount_limit, 0)::text)
                  FROM canteen_rule_group g
                  LEFT JOIN canteen_consumption_rule r ON r.rule_group_id = g.id AND r.meal_kind = q.meal
                 WHERE g.id = h.rule_group_id LIMIT 1)
           END AS rules,
           CASE WHEN q.priced THEN
               (SELECT json_build_array(COUNT(*) FILTER (WHERE x.meal_kind = q.meal),
                                        COALESCE(SUM(x.charged) FILTER (WHERE x.meal_kind = q.meal), 0)::text,
                                        COALESCE(SUM(x.charged), 0)::text)
                  FROM canteen_transaction x
                 WHERE h.rule_group_id IS NOT NULL AND x.employee_id = p.employee_id
                   AND x.business_date = q.day AND x.status = 'approved' AND NOT x.deduplicated)
           END AS spent,
           {columns} a.*
      FROM q
      LEFT JOIN person p ON p.i = q.i
      LEFT JOIN hr_employee h ON h.id = p.employee_id {joins}
      LEFT JOIN LATERAL ({ledger_core.ACCOUNT_QUERY.format(employees="p.employee_id")}) a ON TRUE
     ORDER BY q.i
"""  # noqa: S608 - our own fragments


READ = read_query()
# What a balance request reads: the same person lookup, for one identity.
BALANCE = f"""
    WITH {BATCH}, {PERSON}
    SELECT p.card_id, p.state, p.expiry_date, h.name, h.employee_no, p.matches,
           (SELECT json_object_agg(w.kind, w.balance::text)
              FROM canteen_wallet w WHERE w.employee_id = p.employee_id)
      FROM q JOIN person p ON p.i = q.i JOIN hr_employee h ON h.id = p.employee_id
     WHERE {ALLOWED.format(company="h.company_id", terminal="q.terminal")}
"""  # noqa: S608 - our own fragments

# The writes, after the decisions: nonces (a second use of one violates its unique key),
# heartbeats, then the transaction records (a (terminal, seq) recorded meanwhile violates
# its unique key). The ledger core's entries statement follows them. A terminal, not a user,
# writes most of these rows (their terminal_id says which): their create_uid and write_uid stay
# empty, which also spares PostgreSQL two foreign-key checks per row (an offline upload writes
# thousands); the backend cashier's charges carry the cashier.
NONCES = """
    INSERT INTO canteen_terminal_nonce (terminal_id, nonce, seen_at)
    SELECT t, n, now() AT TIME ZONE 'UTC' FROM unnest(%s::int[], %s::varchar[]) AS x(t, n)
"""
HEARTBEATS = """
    UPDATE canteen_terminal SET last_seen = now() AT TIME ZONE 'UTC'
     WHERE id = ANY(%s::int[])
       AND (last_seen IS NULL OR last_seen < (now() AT TIME ZONE 'UTC') - interval '5 seconds')
"""
TRANSACTION_TYPES = {
    "id": "int",
    "name": "varchar",
    "terminal_id": "int",
    "seq": "int",
    "status": "varchar",
    "reason": "varchar",
    "offline": "bool",
    "deduplicated": "bool",
    "overdraft": "bool",
    "after_loss": "bool",
    "original_id": "int",
    "identity_type": "varchar",
    "identity_value": "varchar",
    "occurred_at": "timestamp",
    "business_date": "date",
    "meal_kind": "varchar",
    "employee_id": "int",
    "card_id": "int",
    "company_id": "int",
    "amount_requested": "numeric",
    "charged": "numeric",
    "discount": "numeric",
    "exception_state": "varchar",
    "create_uid": "int",
    "response": "text",  # JSON: no array of text is cast to jsonb[] implicitly, so cast below
}
TRANSACTIONS = f"""
    INSERT INTO canteen_transaction ({", ".join(TRANSACTION_TYPES)},
                                     write_uid, create_date, write_date)
    SELECT {", ".join(TRANSACTION_TYPES)[: -len("response")]}response::jsonb,
           create_uid, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM unnest({", ".join(f"%s::{sql_type}[]" for sql_type in TRANSACTION_TYPES.values())})
           AS x({", ".join(TRANSACTION_TYPES)})
"""  # noqa: S608 - constants
SEQ_CONSTRAINT = "canteen_transaction_terminal_seq_uniq"
# The stored answer of a (terminal, seq), for a replay.
PREVIOUS = "SELECT response FROM canteen_transaction WHERE terminal_id = %s AND seq = %s"
NONCE_CONSTRAINT = "canteen_terminal_nonce_terminal_nonce_uniq"
