"""What terminals receive by long poll, in SQL, in one place: black/white list changes (one row
per change, for a whole company tree) and per-terminal commands, merged in one stream ordered
by a *delivery position*.

Why a position and not the row id: ids are taken when a row is inserted, not when its
transaction commits. A desk transaction that began first (a loss report inside a long import)
may commit after a later one; a terminal that polled in between would have moved its cursor
past the earlier rows and never see them. Odoo's bus meets the same problem for its history.
Here the position is given *at commit*: a deferred constraint trigger numbers the
transaction's new rows from one sequence while holding a transaction-level advisory lock, so
positions are handed out in commit order, and a row becomes visible only with its position.
A reader that sees position N has seen every position below N, committed or not yet numbered
(a row without position is never returned). The trigger works once per transaction: every
further row of it returns at once.
"""

from .served_sql import TERMINAL_COMPANIES

# The advisory lock that orders commits that carry list changes or commands.
POSITION_LOCK = 7302
# Positions start at 2: cursor 1 means "has the snapshot of an empty list".
FUNCTIONS = f"""
    CREATE SEQUENCE IF NOT EXISTS canteen_delivery_position_seq START 2 MINVALUE 2;
    CREATE OR REPLACE FUNCTION canteen_delivery_number() RETURNS void AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({POSITION_LOCK});
        WITH todo AS (
            SELECT id, nextval('canteen_delivery_position_seq') AS position
              FROM (SELECT id FROM canteen_card_list_change WHERE position IS NULL ORDER BY id) AS o
        )
        UPDATE canteen_card_list_change c SET position = todo.position FROM todo WHERE c.id = todo.id;
        WITH todo AS (
            SELECT id, nextval('canteen_delivery_position_seq') AS position
              FROM (SELECT id FROM canteen_terminal_command WHERE position IS NULL ORDER BY id) AS o
        )
        UPDATE canteen_terminal_command c SET position = todo.position FROM todo WHERE c.id = todo.id;
    END;
    $$ LANGUAGE plpgsql;
    CREATE OR REPLACE FUNCTION canteen_delivery_position() RETURNS trigger AS $$
    BEGIN
        -- Deferred to the commit: number this transaction's rows once, in commit order.
        IF current_setting('canteen.delivery_numbered', true) IS DISTINCT FROM txid_current()::text THEN
            PERFORM canteen_delivery_number();
            PERFORM set_config('canteen.delivery_numbered', txid_current()::text, true);
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql;
"""  # noqa: S608 - constants
# The trigger and indexes of one table ({table}: canteen_card_list_change or
# canteen_terminal_command), made by that table's model.
TABLE_SETUP = """
    DROP TRIGGER IF EXISTS {table}_position ON {table};
    CREATE CONSTRAINT TRIGGER {table}_position AFTER INSERT ON {table}
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION canteen_delivery_position();
    CREATE INDEX IF NOT EXISTS {table}_unnumbered_idx ON {table} (id) WHERE position IS NULL;
"""
LIST_CHANGE_INDEXES = """
    CREATE UNIQUE INDEX IF NOT EXISTS canteen_card_list_change_position_idx
        ON canteen_card_list_change (position);
    CREATE INDEX IF NOT EXISTS canteen_card_list_change_company_position_idx
        ON canteen_card_list_change (company_id, position);
"""
COMMAND_INDEXES = """
    CREATE UNIQUE INDEX IF NOT EXISTS canteen_terminal_command_position_idx
        ON canteen_terminal_command (terminal_id, position);
"""
# Number the rows of this transaction now (tests: a TransactionCase never commits).
NUMBER_NOW = "SELECT canteen_delivery_number()"

# The terminal's own changes and commands after its cursor, in position order: list changes
# of the cards of the companies it serves (its company, the branches below it, and the
# companies that accept their cards at its merchant: served_sql), then its own commands. A
# list change is shared; a command is marked delivered when it is read.
CHANGES = f"""
    WITH served AS ({TERMINAL_COMPANIES}),
    changes AS (
        SELECT l.position, l.change AS type, json_build_object('uid', l.uid, 'reason', l.reason) AS payload
          FROM canteen_card_list_change l
         WHERE l.position > %(cursor)s AND l.company_id IN (SELECT company_id FROM served)
         ORDER BY l.position LIMIT %(limit)s
    ),
    commands AS (
        UPDATE canteen_terminal_command
           SET state = CASE WHEN state = 'pending' THEN 'delivered' ELSE state END,
               delivered_at = COALESCE(delivered_at, now() AT TIME ZONE 'UTC')
         WHERE id IN (SELECT id FROM canteen_terminal_command
                       WHERE terminal_id = %(terminal)s AND position > %(cursor)s
                       ORDER BY position LIMIT %(limit)s)
        RETURNING position, type, payload::json
    )
    SELECT position, type, payload FROM (SELECT * FROM changes UNION ALL SELECT * FROM commands) AS x
     ORDER BY position LIMIT %(limit)s
"""  # noqa: S608 - constants
# Where the stream stands: the highest position visible of the lists and of the terminal's own
# commands (where a snapshot stands: its own commands up to there come with its last page when
# not done, so none already done comes again after it), the highest purged (a cursor below it
# missed changes: a snapshot), the highest ever given (a cursor above it is not ours: a
# snapshot), and the terminal's snapshot in progress and reset request.
STATE = """
    SELECT GREATEST((SELECT COALESCE(MAX(position), 1) FROM canteen_card_list_change),
                    (SELECT COALESCE(MAX(position), 1) FROM canteen_terminal_command
                      WHERE terminal_id = t.id)),
           COALESCE((SELECT value::bigint FROM ir_config_parameter
                      WHERE key = 'canteen_pos_bridge.purged_position'), 0),
           (SELECT CASE WHEN is_called THEN last_value ELSE 1 END FROM canteen_delivery_position_seq),
           t.snapshot_base, t.snapshot_after, t.list_reset, t.list_cursor
      FROM canteen_terminal t WHERE t.id = %s
"""
# A page of the snapshot: the current list of the cards of the companies the terminal serves,
# after card id `after`. Live cards are on the whitelist (lost ones on the blacklist too); dead
# cards on the blacklist.
SNAPSHOT_PAGE = f"""
    SELECT c.id, c.uid, c.state
      FROM canteen_card c
     WHERE c.id > %(after)s AND c.scrapped IS NOT TRUE
       AND c.company_id IN ({TERMINAL_COMPANIES})
     ORDER BY c.id LIMIT %(limit)s
"""  # noqa: S608 - constants
# The terminal's own commands the snapshot's base position covers and that are not done.
PENDING_COMMANDS = """
    UPDATE canteen_terminal_command
       SET state = CASE WHEN state = 'pending' THEN 'delivered' ELSE state END,
           delivered_at = COALESCE(delivered_at, now() AT TIME ZONE 'UTC')
     WHERE terminal_id = %s AND position <= %s AND state IN ('pending', 'delivered')
    RETURNING position, type, payload::json
"""
# A reset asked while this poll ran (a manager's Resend Full List, a company's acceptance
# changed: the terminal serves other cards now) stays asked: only the reset this poll began
# with (the last parameter) is done.
SNAPSHOT_PROGRESS = """
    UPDATE canteen_terminal SET snapshot_base = %s, snapshot_after = %s, list_reset = list_reset AND NOT %s
     WHERE id = %s
"""
# The cursor a terminal sends is what it has received: recorded when it moves, by the poll
# after a delivery, so that delivering (after a wake-up: reads only) never waits for a commit.
POLLED = """
    UPDATE canteen_terminal SET list_cursor = %s, last_poll = now() AT TIME ZONE 'UTC' WHERE id = %s
"""
ACK_COMMAND = """
    UPDATE canteen_terminal_command SET state = %s, error = %s, acked_at = now() AT TIME ZONE 'UTC'
     WHERE position = %s AND terminal_id = %s
"""
ACKED = """
    UPDATE canteen_terminal SET last_ack = now() AT TIME ZONE 'UTC',
                                acked_position = GREATEST(COALESCE(acked_position, 0), %s)
     WHERE id = %s
"""
RECORD_FAILURE = """
    INSERT INTO canteen_terminal_failure (terminal_id, command_id, error,
                                          create_uid, write_uid, create_date, write_date)
    VALUES (%s, (SELECT id FROM canteen_terminal_command WHERE terminal_id = %s AND position = %s),
            %s, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
"""
