"""A transaction (or savepoint) whose opening and closing statements travel with the first and
last statements of the work inside it, optionally as prepared statements.

PostgreSQL runs several statements sent as one query string in order and returns the result
of the last, stopping at the first error. Sending `BEGIN` with the first read and `COMMIT`
with the last write makes a terminal charge two round trips instead of a dozen. On the bridge's
connections the statements are also prepared once per connection: parsing and planning them
again for every charge cost PostgreSQL more than running them.
"""

import re
from decimal import Decimal

from psycopg2 import sql

PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s|%s")


def numbered(query):
    """(query with $1, $2... for psycopg2's placeholders, the parameter keys in $ order): names
    for %(name)s, positions for %s."""
    keys, position = [], [0]

    def number(match):
        if match.group(0) == "%%":
            return "%"
        if match.group(1):
            key = match.group(1)
        else:
            key, position[0] = position[0], position[0] + 1
        if key not in keys:
            keys.append(key)
        return f"${keys.index(key) + 1}"

    return PLACEHOLDER.sub(number, query), keys


# Element types whose text needs no quotes in an array literal (digits, a sign, a point, or
# True/False); None is NULL.
_UNQUOTED = frozenset((int, bool, Decimal, type(None)))
_NONE = type(None)


def array_text(value):
    """A list as the text of a PostgreSQL array ('{"1","2",NULL}'), anything else as it is.

    The statements cast their array parameters (%s::int[]), so the text is all they need, and
    psycopg2 quotes one string much faster than it adapts a list element by element: for a
    batch of charges that adaptation was a fifth of the bridge's time. The text is still sent
    as one quoted literal, so no value can escape it. A batch's columns are mostly of one type:
    numbers need no quotes, and strings with no quote or backslash none of the escaping."""
    if not isinstance(value, list):
        return value
    kinds = set(map(type, value))
    if kinds <= _UNQUOTED:
        if _NONE in kinds:
            return "{%s}" % ",".join("NULL" if item is None else str(item) for item in value)  # noqa: UP031
        return "{%s}" % ",".join(map(str, value))  # noqa: UP031
    # Quote every element, escaping the joined text once rather than element by element; the
    # elements are joined with NUL, which PostgreSQL text cannot hold, so the split is exact
    # (an element holding a NUL takes the slow path, where PostgreSQL refuses it).
    texts = ["" if item is None else str(item) for item in value]
    raw = "\x00".join(texts)
    if raw.count("\x00") != len(value) - 1:
        return "{%s}" % ",".join(  # noqa: UP031 - braces would need doubling in an f-string
            "NULL" if item is None else '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for item in value
        )
    if '"' in raw or "\\" in raw:
        raw = raw.replace("\\", "\\\\").replace('"', '\\"')
    if _NONE not in kinds:
        return '{"%s"}' % raw.replace("\x00", '","')  # noqa: UP031
    return "{%s}" % ",".join(  # noqa: UP031
        "NULL" if item is None else f'"{text}"' for item, text in zip(value, raw.split("\x00"), strict=True)
    )


class Unit:
    """Statements on one cursor; `execute` and `finish` send whatever is pending with theirs.

    A statement is (query, params), the query in psycopg2's syntax. With `prepared` (a dict kept
    per connection, query text -> statement name) each query is prepared on first use and then
    run as EXECUTE.
    """

    def __init__(self, cr, opening=(), closing="", undo="", prepared=None):
        # The psycopg2 cursor (under an Odoo cursor, its `_obj`): it renders and runs the text.
        self.cursor = getattr(cr, "_obj", cr)
        self.prepared = prepared
        self.pending = [self.render(query, params) for query, params in opening]
        self.closing = closing.encode()
        self.undo = undo.encode()
        self.open = False  # something was sent and is neither finished nor undone
        self.finished = False

    @classmethod
    def savepoint(cls, cr, name="canteen_unit", prepared=None):
        """A unit inside the caller's transaction (the backend cashier's, an offline batch's)."""
        return cls(
            cr,
            [(f"SAVEPOINT {name}", None)],
            f"RELEASE SAVEPOINT {name}",
            f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}",
            prepared,
        )

    def nested(self, name):
        """A savepoint unit inside this one, taking over what this one has pending."""
        child = Unit.savepoint(self.cursor, name, self.prepared)
        child.pending = [*self.pending, *child.pending]
        self.pending = []
        self.open = True
        return child

    def render(self, query, params):
        """The text of one statement, as EXECUTE of a prepared statement when the unit prepares."""
        if isinstance(query, sql.Composable):
            query = query.as_string(self.cursor)
        if params is not None:
            params = (
                {key: array_text(value) for key, value in params.items()}
                if isinstance(params, dict)
                else [array_text(value) for value in params]
            )
        if self.prepared is None or params is None:
            return self.cursor.mogrify(query, params)
        name, keys = self.prepared.get(query) or self._prepare(query)
        values = [params[key] for key in keys]
        return self.cursor.mogrify(f"EXECUTE {name} ({', '.join(['%s'] * len(values))})", values)

    def _prepare(self, query):
        # PREPARE is not undone by a rollback: once sent, the statement stays for the session.
        text, keys = numbered(query)
        name = f"canteen_{len(self.prepared) + 1}"
        self.cursor.execute(f"PREPARE {name} AS {text}")
        self.prepared[query] = (name, keys)
        return name, keys

    def execute(self, *statements):
        """Send what is pending and these statements; return the cursor, holding the rows of
        the last one."""
        self._send([*self.pending, *(self.render(query, params) for query, params in statements)])
        return self.cursor

    def finish(self, *statements):
        """Send what is pending, these last statements and the closing statement."""
        if self.finished:
            return
        parts = [*self.pending, *(self.render(query, params) for query, params in statements)]
        if parts or self.open:
            self._send([*parts, self.closing])
        self.open = False
        self.finished = True

    def abort(self):
        """Undo what was sent (after an error or a refusal); nothing if nothing was sent."""
        self.pending = []
        if self.open and not self.finished:
            self.open = False
            self.cursor.execute(self.undo)
        self.finished = True

    def _send(self, parts):
        self.pending = []
        self.open = True
        self.cursor.execute(b";\n".join(parts))
