"""The SQL of kiosk top-ups and attendance events (tools/topup_engine.py): the person is found
as the charge path finds them (charge_sql.BATCH and PERSON, one element), and a top-up locks
the wallets as the charge path does (charge_sql.LOCK: in id order, FOR UPDATE)."""

from odoo.addons.canteen_card.tools import ledger_core

from . import charge_sql

LOCK = charge_sql.LOCK
# After the lock: the seq's earlier answer, new ids, the person, the kiosk's settings, and
# last the account's columns (ledger_core.ACCOUNT_WIDTH of them).
TOPUP_READ = f"""
    WITH {charge_sql.BATCH}, {charge_sql.PERSON}
    SELECT (SELECT response FROM canteen_terminal_topup
             WHERE terminal_id = q.terminal AND seq = q.seq) AS previous,
           nextval('canteen_terminal_topup_id_seq') AS topup_id,
           nextval('canteen_operation_id_seq') AS operation_id, to_char(now(), 'YYYYMMDD') AS day,
           p.employee_id, p.card_id, p.state, p.expiry_date, p.matches, h.name, h.employee_no,
           t.kind, t.topup_amounts, t.topup_journal_id, j.company_id AS journal_company_id,
           a.*
      FROM q
      JOIN canteen_terminal t ON t.id = q.terminal
      LEFT JOIN account_journal j ON j.id = t.topup_journal_id
      LEFT JOIN person p ON p.i = q.i
      LEFT JOIN hr_employee h ON h.id = p.employee_id
      LEFT JOIN LATERAL ({ledger_core.ACCOUNT_QUERY.format(employees="p.employee_id")}) a ON TRUE
"""  # noqa: S608 - our own fragments
TOPUP_TYPES = {
    "id": "int",
    "name": "varchar",
    "terminal_id": "int",
    "seq": "int",
    "company_id": "int",
    "employee_id": "int",
    "card_id": "int",
    "identity_type": "varchar",
    "identity_value": "varchar",
    "amount": "numeric",
    "status": "varchar",
    "reason": "varchar",
    "occurred_at": "timestamp",
    "operation_id": "int",
}
TOPUP_INSERT = f"""
    INSERT INTO canteen_terminal_topup ({", ".join(TOPUP_TYPES)}, response,
                                        create_uid, write_uid, create_date, write_date)
    VALUES ({", ".join(f"%({name})s::{sql_type}" for name, sql_type in TOPUP_TYPES.items())},
            %(response)s::jsonb, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
"""  # noqa: S608 - constants
SEQ_CONSTRAINT = "canteen_terminal_topup_terminal_seq_uniq"
TOPUP_PREVIOUS = "SELECT response FROM canteen_terminal_topup WHERE terminal_id = %s AND seq = %s"
# The desk operation of an approved top-up (kind topup, cash, the kiosk's journal): the origin of
# its ledger entry, booked to the accounts by canteen.terminal.topup._cron_book.
OPERATION_INSERT = """
    INSERT INTO canteen_operation (id, name, kind, date, company_id, wallet_kind, payment_journal_id, note,
                                   create_uid, write_uid, create_date, write_date)
    VALUES (%(id)s::int, %(name)s::varchar, 'topup', %(date)s::timestamp, %(company_id)s::int, 'cash',
            %(journal_id)s::int, %(note)s::varchar,
            1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
"""
# Ask Odoo's cron workers to run a job soon (they poll their triggers about every minute): the
# job of an addon that may not be installed, found by its XML id (no row: nothing happens).
CRON_TRIGGER = """
    INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
    SELECT d.res_id, now() AT TIME ZONE 'UTC', 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM ir_model_data d
     WHERE d.module = %s::varchar AND d.name = %s::varchar AND d.model = 'ir.cron'
"""

# Attendance: the seq's earlier answer, a new id, the person (with their card) and whether the
# terminal is an attendance point.
ATTENDANCE_READ = f"""
    WITH {charge_sql.BATCH}, {charge_sql.PERSON}
    SELECT (SELECT response FROM canteen_attendance_event
             WHERE terminal_id = q.terminal AND seq = q.seq) AS previous,
           nextval('canteen_attendance_event_id_seq') AS event_id, to_char(now(), 'YYYYMMDD') AS day,
           p.employee_id, p.card_id, p.state, p.expiry_date, p.matches, h.name, h.employee_no,
           h.company_id AS employee_company_id, t.attendance_point
      FROM q
      JOIN canteen_terminal t ON t.id = q.terminal
      LEFT JOIN person p ON p.i = q.i
      LEFT JOIN hr_employee h ON h.id = p.employee_id
"""  # noqa: S608 - our own fragments
EVENT_TYPES = {
    "id": "int",
    "name": "varchar",
    "terminal_id": "int",
    "seq": "int",
    "company_id": "int",
    "employee_id": "int",
    "identity_type": "varchar",
    "identity_value": "varchar",
    "occurred_at": "timestamp",
    "status": "varchar",
    "reason": "varchar",
    "state": "varchar",
}
EVENT_INSERT = f"""
    INSERT INTO canteen_attendance_event ({", ".join(EVENT_TYPES)}, response,
                                          create_uid, write_uid, create_date, write_date)
    VALUES ({", ".join(f"%({name})s::{sql_type}" for name, sql_type in EVENT_TYPES.items())},
            %(response)s::jsonb, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
"""  # noqa: S608 - constants
EVENT_SEQ_CONSTRAINT = "canteen_attendance_event_terminal_seq_uniq"
EVENT_PREVIOUS = "SELECT response FROM canteen_attendance_event WHERE terminal_id = %s AND seq = %s"
