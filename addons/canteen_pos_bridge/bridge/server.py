"""The bridge: a gevent HTTP server implementing terminal protocol v1.

Stateless apart from a short-lived terminal cache: every fact lives in PostgreSQL, so any
number of bridge processes can serve the same database. Each request runs in one database
transaction that is committed before the answer is sent. Long polls hold no connection while
they wait; a LISTEN connection wakes them within a second of a new command.
"""

import collections
import contextlib
import hmac
import json
import logging
import re
import time
from urllib.parse import parse_qs

import gevent
import gevent.event
import gevent.queue
import gevent.select
import gevent.threadpool
import psycopg2
import psycopg2.errors
import psycopg2.extensions
from gevent.socket import wait_read, wait_write

from ..models.canteen_terminal_command import NOTIFY_CHANNEL
from ..tools import charge_engine, charge_sql, delivery, face_index, topup_engine
from ..tools.charge_engine import BadRequest
from ..tools.sql_unit import Unit
from ..tools.terminal_client import signature
from .http import STATUS_TEXT

_logger = logging.getLogger("canteen.bridge")

MAX_BODY = 1024 * 1024
MAX_CLOCK_SKEW = 300
MAX_WAIT = 55
MAX_OFFLINE_BATCH = 1000
TERMINAL_CACHE_SECONDS = 5
CONNECTION_MAX_AGE = 300
PARALLEL_BATCH_THRESHOLD = 10  # charges waiting before a second batch starts beside one
MAX_WAITING_CHARGES = 5000  # beyond, answer 503 at once: the terminal retries, nothing piles up
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
LockNotAvailable = psycopg2.errors.LockNotAvailable
# How long the batch writer waits for wallet locks a desk job holds (a big import holds them for
# seconds): past it, the batch's charges are tried one by one, each waiting at most the second
# figure, and a charge still locked is answered 503 busy (the terminal retries the same seq).
BATCH_LOCK_TIMEOUT = "1s"
SINGLE_LOCK_TIMEOUT = "50ms"


def is_lost_connection(error):
    """A database error that means the connection or server is gone (not a lock timeout)."""
    return isinstance(error, DB_ERRORS) and not isinstance(error, LockNotAvailable)


NONCE_CONSTRAINT = "canteen_terminal_nonce_terminal_nonce_uniq"
TRANSACTION_STATUS_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


def gevent_wait_callback(conn, timeout=None):
    """Let psycopg2 yield to other greenlets while it waits for PostgreSQL (as Odoo's gevent server)."""
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            break
        if state == psycopg2.extensions.POLL_READ:
            wait_read(conn.fileno(), timeout=timeout)
        elif state == psycopg2.extensions.POLL_WRITE:
            wait_write(conn.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def refuse(status, code, detail=None):
    body = {"error": code}
    if detail:
        body["detail"] = detail
    return HttpError(status, body)


class BridgeConnection(psycopg2.extensions.connection):
    """A connection that remembers the statements prepared on it (see sql_unit.Unit)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared = {}
        self.opened_at = time.monotonic()


class ConnectionPool:
    """A fixed number of connections handed out to greenlets; broken ones are replaced."""

    def __init__(self, dsn, size):
        self.dsn = dsn
        self.size = size
        self.idle = gevent.queue.LifoQueue()
        for _n in range(size):
            self.idle.put(None)  # connected lazily

    def _connect(self):
        conn = psycopg2.connect(
            self.dsn,
            connect_timeout=3,
            application_name="canteen-bridge",
            connection_factory=BridgeConnection,
        )
        # Transactions are opened and closed by the statements themselves (see sql_unit.Unit),
        # so psycopg2 must not send a BEGIN of its own.
        conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED, autocommit=True)
        # The hot statements are prepared once per connection; their plans do not depend on
        # the values (ids, a UID), so one generic plan serves every call.
        conn.cursor().execute("SET plan_cache_mode = force_generic_plan")
        # No JIT: the generic plan of the batch read is estimated above jit_optimize_above_cost,
        # and EXPLAIN ANALYZE of an offline upload's read (1,000 records) on a busy machine
        # showed 30 s of JIT compilation for 0.3 s of execution. Short statements never gain.
        conn.cursor().execute("SET jit = off")
        conn.cursor().execute(f"SET lock_timeout = '{BATCH_LOCK_TIMEOUT}'")
        return conn

    def get(self, timeout=10):
        try:
            conn = self.idle.get(timeout=timeout)
        except gevent.queue.Empty as error:
            raise refuse(503, "busy", "no database connection free") from error
        try:
            return conn if conn is not None and not conn.closed else self._connect()
        except DB_ERRORS as error:
            self.idle.put(None)
            raise refuse(503, "database_unavailable") from error

    def spare(self):
        """An idle connection at once, or None (a request that holds one never waits for a second:
        requests holding every connection would wait on each other)."""
        try:
            conn = self.idle.get(block=False)
        except gevent.queue.Empty:
            return None
        try:
            return conn if conn is not None and not conn.closed else self._connect()
        except DB_ERRORS:
            self.idle.put(None)
            return None

    @contextlib.contextmanager
    def connection(self):
        """A connection for a few statements in autocommit; 503 when the database is down."""
        conn, broken = self.get(), False
        try:
            yield conn
        except DB_ERRORS as error:
            broken = True
            raise refuse(503, "database_unavailable") from error
        finally:
            self.put(conn, broken=broken)

    def put(self, conn, broken=False):
        # A prepared statement keeps the plan made with the statistics of its day (a table
        # empty then is scanned whole forever after): connections, and their plans, are
        # renewed every few minutes.
        broken = broken or time.monotonic() - conn.opened_at > CONNECTION_MAX_AGE
        if not broken and not conn.closed and conn.info.transaction_status != TRANSACTION_STATUS_IDLE:
            try:
                conn.cursor().execute("ROLLBACK")
            except DB_ERRORS:
                broken = True
        if broken or conn.closed:
            with contextlib.suppress(*DB_ERRORS):
                conn.close()
            conn = None
        self.idle.put(conn)


class ChargeBatcher:
    """Charges that arrive while others are being written go to PostgreSQL together: one
    transaction and two round trips for a batch, instead of for each charge; each charge's
    answer leaves after its batch commits. Batches grow with the load. One worker (the
    default) gave the best latency with PostgreSQL on the same two cores; more workers write
    batches side by side, for a database server with cores to spare.

    A batch never holds two charges of one identity (or, found on reading, of one person): the
    second waits for the next batch, so it sees the first (dedup window, limits, balance).
    """

    def __init__(self, pool, workers=1, max_batch=50):
        self.pool, self.max_batch = pool, max_batch
        self.waiting = collections.deque()  # (charge, AsyncResult)
        self.busy = 0  # workers writing a batch
        self.wakeup = gevent.event.Event()
        self.workers = [gevent.spawn(self._work) for _n in range(workers)]

    def submit(self, charge):
        """The answer of the charge, once committed; raises HttpError when it cannot be."""
        if len(self.waiting) >= MAX_WAITING_CHARGES:
            raise refuse(503, "busy", "too many charges waiting for the database")
        result = gevent.event.AsyncResult()
        self.waiting.append((charge, result))
        self.wakeup.set()
        return result.get()

    def _work(self):
        while True:
            while not self._may_start():
                self.wakeup.clear()
                self.wakeup.wait()
            batch = self._take()
            self.busy += 1
            try:
                self._run(batch)
            except Exception:
                _logger.exception("charge batch failed")
                self._fail([item for item in batch if not item[1].ready()], refuse(500, "internal_error"))
            finally:
                self.busy -= 1
                self.wakeup.set()

    def _may_start(self):
        """A worker starts a batch when no other is writing one, or when enough charges wait:
        batches stay big (less database work per charge), and a slow one does not hold up
        a growing queue."""
        return len(self.waiting) >= (PARALLEL_BATCH_THRESHOLD if self.busy else 1)

    def _take(self):
        batch, keys, later = [], set(), []
        while self.waiting and len(batch) < self.max_batch:
            item = self.waiting.popleft()
            (later if item[0].key in keys else batch).append(item)
            keys.add(item[0].key)
        self.waiting.extendleft(reversed(later))
        return batch

    def _run(self, batch):
        try:
            conn = self.pool.get()
        except HttpError as error:
            self._fail(batch, error)
            return
        broken = False
        try:
            charges = [charge for charge, _result in batch]
            try:
                deferred = charge_engine.run(self._unit(conn), charges)
            except psycopg2.DatabaseError as error:
                if is_lost_connection(error):
                    raise
                # A replay racing its original, a reused nonce, a deadlock with an offline
                # upload, one charge the database refuses: take the charges one by one, each
                # in its own transaction, so only the one concerned fails.
                deferred = []
                for charge, result in batch:
                    self._run_one(conn, charge, result)
            self._answer(batch, deferred)
        except DB_ERRORS:
            broken = True
            self._fail([item for item in batch if not item[1].ready()], refuse(503, "database_unavailable"))
        finally:
            self.pool.put(conn, broken=broken)

    @staticmethod
    def _unit(conn, lock_timeout=None):
        opening = [("BEGIN", None)]
        if lock_timeout:
            opening.append((f"SET LOCAL lock_timeout = '{lock_timeout}'", None))
        return Unit(conn.cursor(), opening, "COMMIT", "ROLLBACK", conn.prepared)

    def _run_one(self, conn, charge, result):
        try:
            result.set(charge_engine.charge_one(self._unit(conn, SINGLE_LOCK_TIMEOUT), charge))
        except BadRequest as error:
            result.set_exception(refuse(400, "bad_request", str(error)))
        except psycopg2.errors.UniqueViolation as error:
            result.set_exception(
                refuse(401, "replayed_nonce")
                if error.diag.constraint_name == NONCE_CONSTRAINT
                else refuse(500, "internal_error")
            )
        except (psycopg2.errors.TransactionRollbackError, LockNotAvailable):
            result.set_exception(refuse(503, "busy"))
        except psycopg2.DatabaseError as error:
            if is_lost_connection(error):
                raise
            _logger.exception("charge refused by the database")
            result.set_exception(refuse(500, "internal_error"))

    def _answer(self, batch, deferred):
        for charge, result in batch:
            if result.ready():
                continue
            if charge in deferred:
                self.waiting.appendleft((charge, result))
                self.wakeup.set()
            elif charge.error:
                result.set_exception(refuse(400, "bad_request", str(charge.error)))
            else:
                result.set(charge.answer)

    @staticmethod
    def _fail(items, error):
        for _charge, result in items:
            result.set_exception(error)


class Notifier:
    """One LISTEN connection per process; wakes the long polls of the notified terminals."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.events = {}
        # Other channels: {channel: handler(connection, payload)}, and what to do with the
        # connection each time it is (re)opened, before any notification is handled.
        self.handlers = {}
        self.on_connect = []

    def event(self, terminal_id):
        return self.events.setdefault(terminal_id, gevent.event.Event())

    def start(self):
        gevent.spawn(self._loop)

    def wake_all(self):
        for event in self.events.values():
            event.set()

    def _loop(self):
        while True:
            try:
                conn = psycopg2.connect(self.dsn, connect_timeout=3, application_name="canteen-bridge-listen")
                conn.set_session(autocommit=True)
                conn.cursor().execute(f"LISTEN {NOTIFY_CHANNEL}")
                for channel in self.handlers:
                    conn.cursor().execute(f"LISTEN {channel}")
                # Commands queued while we were not listening: let every poll look again.
                self.wake_all()
                for hook in self.on_connect:
                    hook(conn)
                while True:
                    gevent.select.select([conn], [], [], 30)
                    conn.poll()
                    while conn.notifies:
                        notify = conn.notifies.pop(0)
                        if notify.channel in self.handlers:
                            self.handlers[notify.channel](conn, notify.payload)
                        else:
                            self._dispatch(notify.payload)
            except (*DB_ERRORS, OSError):
                _logger.warning("LISTEN connection lost; reconnecting")
                gevent.sleep(1)
            except Exception:  # like Odoo's bus dispatcher: log, reconnect, go on
                _logger.exception("LISTEN loop failed; reconnecting")
                gevent.sleep(1)

    def _dispatch(self, payload):
        if payload == "*":  # a list change: every terminal of its tree may need it
            self.wake_all()
            return
        for part in payload.split(","):
            if part.isdigit() and int(part) in self.events:
                self.events[int(part)].set()


class Bridge:
    """The WSGI application of protocol v1."""

    def __init__(self, dsn, pool_size=32, batch_workers=1, offline_parts=2):
        self.pool = ConnectionPool(dsn, pool_size)
        # A large offline upload is written in this many parts side by side (upload_side_by_side).
        self.offline_parts = offline_parts
        self.batcher = ChargeBatcher(self.pool, workers=batch_workers)
        self.notifier = Notifier(dsn)
        # Faces (canteen_face installed): loaded on the LISTEN connection, kept current by it.
        self.faces = face_index.FaceIndex()
        # Threads that wait for the picture worker process (tools/face_index.py).
        self.face_thread = gevent.threadpool.ThreadPool(4)
        self.notifier.handlers[face_index.NOTIFY_CHANNEL] = self._face_changed
        self.notifier.on_connect.append(self._load_faces)
        self.terminals = {}  # serial -> (Terminal or None, monotonic time loaded)
        self.reloading = set()
        self.stopping = False
        self.routes = {
            ("GET", "/api/v1/health"): self.health,
            ("POST", "/api/v1/transactions"): self.transactions,
            ("POST", "/api/v1/balance"): self.balance,
            ("GET", "/api/v1/commands"): self.commands,
            ("POST", "/api/v1/commands/ack"): self.ack,
            ("POST", "/api/v1/offline-records"): self.offline_records,
            ("POST", "/api/v1/faces/identify"): self.faces_identify,
            ("POST", "/api/v1/topups"): self.topups,
            ("POST", "/api/v1/attendance"): self.attendance,
        }

    # -- HTTP ---------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        """The bridge as a WSGI application (bridge.http.HttpServer calls `respond` directly)."""
        try:
            body = read_body(environ)
        except HttpError as error:
            status, payload = error.status, json.dumps(error.body).encode()
        else:
            status, payload = self.respond(environ, body)
        start_response(
            f"{status} {STATUS_TEXT.get(status, '')}",
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def respond(self, environ, body):
        """(status, JSON bytes) of one request."""
        try:
            status, answer = self.dispatch(environ, body)
        except HttpError as error:
            status, answer = error.status, error.body
        except Exception:
            _logger.exception("unexpected error")
            status, answer = 500, {"error": "internal_error"}
        return status, json.dumps(answer, ensure_ascii=False).encode()

    def dispatch(self, environ, body):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        handler = self.routes.get((method, path))
        if not handler:
            if any(route_path == path for _m, route_path in self.routes):
                raise refuse(405, "method_not_allowed")
            raise refuse(404, "not_found")
        if handler == self.health:
            return handler()
        return handler(environ, body)

    # -- authentication -----------------------------------------------------------------------
    def terminal(self, serial):
        """The terminal of a serial number, from a cache of a few seconds. A stale entry is
        served while one greenlet reloads it, so terminals never wait for the reload."""
        cached = self.terminals.get(serial)
        if cached is None:
            return self._load_terminal(serial)
        terminal, loaded_at = cached
        if time.monotonic() - loaded_at >= TERMINAL_CACHE_SECONDS and serial not in self.reloading:
            self.reloading.add(serial)
            gevent.spawn(self._reload_terminal, serial)
        return terminal

    def _load_terminal(self, serial):
        with self.pool.connection() as conn, conn.cursor() as cr:
            terminal = charge_engine.load_terminal(cr, serial)
        self.terminals[serial] = (terminal, time.monotonic())
        return terminal

    def _reload_terminal(self, serial):
        try:
            self._load_terminal(serial)
        except HttpError:
            # The database is away: keep serving the cached entry, try again on a later call.
            _logger.debug("terminal %s not reloaded: database unavailable", serial)
        finally:
            self.reloading.discard(serial)

    def authenticate(self, environ, body):
        """(terminal, nonce) of a correctly signed, fresh request. The nonce is recorded by the
        request's own transaction (see `opening`), so a refused or failed request leaves it unused."""
        serial = environ.get("HTTP_X_CANTEEN_TERMINAL")
        if not serial:
            raise refuse(401, "unknown_terminal")
        terminal = self.terminal(serial)
        if not terminal:
            raise refuse(401, "unknown_terminal")
        if not terminal.enabled:
            raise refuse(401, "terminal_disabled")
        timestamp, nonce = (
            environ.get("HTTP_X_CANTEEN_TIMESTAMP", ""),
            environ.get("HTTP_X_CANTEEN_NONCE", ""),
        )
        if not timestamp.isdigit():
            raise refuse(400, "bad_request", "X-Canteen-Timestamp must be Unix seconds")
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            raise refuse(401, "clock_skew")
        if not NONCE.match(nonce):
            raise refuse(400, "bad_request", "X-Canteen-Nonce must be 16 to 64 characters [A-Za-z0-9_-]")
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        expected = signature(terminal.secret, environ["REQUEST_METHOD"], path, timestamp, nonce, body)
        if not hmac.compare_digest(expected, environ.get("HTTP_X_CANTEEN_SIGNATURE", "")):
            raise refuse(401, "bad_signature")
        return terminal, nonce

    @staticmethod
    def opening(terminal, nonce):
        """What every request's transaction starts with: BEGIN, the nonce (a second use of it
        violates its unique key) and, every few seconds, the terminal's heartbeat."""
        return [
            ("BEGIN", None),
            (charge_sql.NONCES, [[terminal.id], [nonce]]),
            (charge_sql.HEARTBEATS, [[terminal.id]]),
        ]

    def with_transaction(self, environ, body, work):
        """Authenticate and run `work(unit, terminal)` in one transaction, committed before the
        answer leaves; a refusal or an error rolls everything back."""
        terminal, nonce = self.authenticate(environ, body)
        conn = self.pool.get()
        broken = False
        tx = None
        try:
            tx = Unit(conn.cursor(), self.opening(terminal, nonce), "COMMIT", "ROLLBACK", conn.prepared)
            result = work(tx, terminal)
            tx.finish()
            return 200, result
        except BadRequest as error:
            self._abort(tx)
            raise refuse(400, "bad_request", str(error)) from error
        except HttpError:
            self._abort(tx)
            raise
        except psycopg2.errors.UniqueViolation as error:
            self._abort(tx)
            if error.diag.constraint_name == NONCE_CONSTRAINT:
                raise refuse(401, "replayed_nonce") from error
            raise
        except DB_ERRORS as error:
            broken = True
            raise refuse(503, "database_unavailable") from error
        except psycopg2.errors.QueryCanceled as error:
            self._abort(tx)
            raise refuse(503, "busy") from error
        except Exception:
            self._abort(tx)
            raise
        finally:
            self.pool.put(conn, broken=broken)

    @staticmethod
    def _abort(tx):
        if tx is not None:
            with contextlib.suppress(psycopg2.Error):
                tx.abort()

    # -- endpoints ----------------------------------------------------------------------------
    def health(self):
        conn = self.pool.get(timeout=3)
        broken = False
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT 1")
            return 200, {"status": "ok", "database": "ok"}
        except DB_ERRORS as error:
            broken = True
            raise HttpError(503, {"status": "degraded", "database": "unreachable"}) from error
        finally:
            self.pool.put(conn, broken=broken)

    def transactions(self, environ, body):
        request = parse_json(body)
        terminal, nonce = self.authenticate(environ, body)
        identity = request.get("identity")
        try:
            if isinstance(identity, dict) and identity.get("type") == "face_image":
                # Identified first (outside any transaction), then charged as the face found.
                identified = self._identify(terminal, identity.get("value"), self._fetch_now)
                charge = face_index.FaceImageCharge(terminal, request, identified, nonce=nonce)
            else:
                charge = charge_engine.Charge(terminal, request, nonce=nonce)
        except BadRequest as error:
            raise refuse(400, "bad_request", str(error)) from error
        return 200, self.batcher.submit(charge)

    # -- faces --------------------------------------------------------------------------------
    def faces_identify(self, environ, body):
        request = parse_json(body)
        self.authenticate(environ, body)  # before the picture costs anything
        embedding, reason = self._analyse(request.get("image"))

        def work(tx, terminal):
            if embedding is None:
                return {"match": None, "reason": reason}
            answer = self.faces.identify(terminal, embedding, lambda q, p: tx.execute((q, p)).fetchall())
            if answer["match"]:
                answer["match"].pop("employee_id")
            return answer

        return self.with_transaction(environ, body, work)

    def _analyse(self, image):
        """(embedding, None) or (None, reason) of a base64 picture; 400 when it is not one, 404
        when this database has no face identification."""
        if not self.faces.available:
            raise refuse(404, "faces_unavailable", "face identification is not installed")
        try:
            data = face_index.decode_image(image)
        except ValueError as error:
            raise refuse(400, "bad_request", str(error)) from error
        if self.faces.worker is None:
            self.faces.start_worker()
        try:
            embedding, reason = self.face_thread.apply(self.faces.analyse, (data,))
        except RuntimeError as error:
            raise refuse(503, "busy", "the face worker failed; try again") from error
        if reason == "not_image":
            raise refuse(400, "bad_request", "image must be a base64 JPEG or PNG")
        return embedding, reason

    def _identify(self, terminal, image, fetch):
        embedding, reason = self._analyse(image)
        if embedding is None:
            return {"match": None, "reason": reason}
        return self.faces.identify(terminal, embedding, fetch)

    def _fetch_now(self, query, params):
        """Rows of one statement on a pooled connection, in autocommit."""
        with self.pool.connection() as conn, conn.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def _load_faces(self, conn):
        with conn.cursor() as cr:
            self.faces.load(cr)
        if self.faces.available:
            self.faces.start_worker()

    def _face_changed(self, conn, payload):
        with conn.cursor() as cr:
            self.faces.apply(cr, payload)

    # -- kiosk top-ups and attendance (tools/topup_engine.py) ---------------------------------
    def topups(self, environ, body):
        return self._identified_call(environ, body, topup_engine.topup)

    def attendance(self, environ, body):
        return self._identified_call(environ, body, topup_engine.attendance)

    def _identified_call(self, environ, body, run):
        """Run `run(tx, terminal, request, recorded=, face=)` in one transaction; a face picture
        is identified first (outside the transaction), then looked up as the face found."""
        request = parse_json(body)
        terminal, _nonce = self.authenticate(environ, body)  # before a picture costs anything
        recorded = face = None
        identity = request.get("identity")
        if isinstance(identity, dict) and identity.get("type") == "face_image":
            identified = self._identify(terminal, identity.get("value"), self._fetch_now)
            lookup, recorded, face = face_index.charge_identity(identified)
            request = dict(request, identity=lookup)

        def work(tx, terminal):
            try:
                return run(tx, terminal, request, recorded=recorded, face=face)
            except topup_engine.Refused as error:
                raise refuse(error.status, error.code, error.detail) from error

        return self.with_transaction(environ, body, work)

    def balance(self, environ, body):
        request = parse_json(body)

        def work(tx, terminal):
            answer = charge_engine.balance(tx, terminal, request.get("identity"))
            if answer is None:
                raise HttpError(404, {"error": "unknown_identity"})
            return answer

        return self.with_transaction(environ, body, work)

    def offline_records(self, environ, body):
        request = parse_json(body)
        records = request.get("records")
        if not isinstance(records, list) or not 0 < len(records) <= MAX_OFFLINE_BATCH:
            raise refuse(400, "bad_request", f"records must be a list of 1 to {MAX_OFFLINE_BATCH} records")
        for record in records:
            if not isinstance(record, dict):
                raise refuse(400, "bad_request", "each record is an object")

        def work(tx, terminal):
            charges = charge_engine.parse_upload(terminal, records)
            self.upload_side_by_side(tx, charge_engine.upload_parts(charges, self.offline_parts))
            return {"results": charge_engine.upload_results(charges)}

        return self.with_transaction(environ, body, work)

    def upload_side_by_side(self, tx, parts):
        """Write the parts of an offline upload at once, on as many cores: the first in the
        request's transaction `tx`, each other in a transaction of its own on a spare connection
        (with none spare, after the first, in `tx`). Every record is still written exactly once
        (its (terminal, seq) key), so a retry after a failure answers `duplicate` for whatever a
        part committed. A part that waits too long for the other (one person under two
        identities) or deadlocks with it is undone and written again once the others are done."""
        later, helpers = [], []
        for part in parts[1:]:
            conn = self.pool.spare()
            if conn is None:
                later.append(part)
            else:
                helpers.append((part, gevent.spawn(self._upload_part, conn, part)))
        try:
            if not self._upload_in(tx.nested("canteen_part"), parts[0]):
                later.insert(0, parts[0])
        finally:
            gevent.joinall([helper for _part, helper in helpers])
        later += [part for part, helper in helpers if not helper.get()]
        for part in later:
            unit = tx.nested("canteen_part")
            charge_engine.upload_charges(unit, part)
            unit.finish()

    @staticmethod
    def _upload_in(unit, part):
        """Write `part` in `unit` and finish it; False (the unit undone) on a deadlock, or when a
        wallet stays locked past the lock timeout: most likely by the other part, which holds a
        person's wallets (under another identity) until it commits. Written again after it."""
        try:
            charge_engine.upload_charges(unit, part)
            unit.finish()
        except (psycopg2.errors.DeadlockDetected, LockNotAvailable):
            unit.abort()
            return False
        return True

    def _upload_part(self, conn, part):
        broken = False
        try:
            unit = Unit(conn.cursor(), [("BEGIN", None)], "COMMIT", "ROLLBACK", conn.prepared)
            return self._upload_in(unit, part)
        except (psycopg2.errors.QueryCanceled, LockNotAvailable) as error:
            raise refuse(503, "busy") from error
        except DB_ERRORS as error:
            broken = True
            raise refuse(503, "database_unavailable") from error
        finally:
            self.pool.put(conn, broken=broken)

    def commands(self, environ, body):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        cursor, wait = query.get("cursor", ["0"])[0], query.get("wait", ["0"])[0]
        if not (cursor.isdigit() and wait.isdigit()):
            raise refuse(400, "bad_request", "cursor and wait are non-negative integers")
        cursor, wait = int(cursor), min(int(wait), MAX_WAIT)
        terminals = []

        def take(tx, terminal):
            terminals.append(terminal)
            return delivery.take(tx, terminal.id, terminal.company_path, cursor)

        status, answer = self.with_transaction(environ, body, take)
        if answer["commands"] or not wait:
            return status, answer
        # Hold the poll without a connection; a NOTIFY for this terminal ends the wait early.
        event = self.notifier.event(terminals[0].id)
        event.clear()
        deadline = time.monotonic() + wait
        while not self.stopping and time.monotonic() < deadline:
            if event.wait(timeout=deadline - time.monotonic()):
                event.clear()
                answer = self._take_commands_now(terminals[0], cursor)
                if answer["commands"]:
                    break
        return 200, answer

    def _take_commands_now(self, terminal, cursor):
        """The same, in statements of their own (autocommit) after a wake-up."""
        with self.pool.connection() as conn:
            return delivery.take(
                Unit(conn.cursor(), prepared=conn.prepared), terminal.id, terminal.company_path, cursor
            )

    def ack(self, environ, body):
        request = parse_json(body)
        results = request.get("results")
        if not isinstance(results, list) or not 0 < len(results) <= 1000:
            raise refuse(400, "bad_request", "results must be a list of 1 to 1000 {id, ok, error}")
        for result in results:
            if not (
                isinstance(result, dict)
                and isinstance(result.get("id"), int)
                and isinstance(result.get("ok"), bool)
            ):
                raise refuse(400, "bad_request", "each result needs an integer id and a boolean ok")

        def work(tx, terminal):
            return delivery.ack(tx, terminal.id, results)

        return self.with_transaction(environ, body, work)


def read_body(environ):
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit():
        raise refuse(400, "bad_request", "bad Content-Length")
    if int(length) > MAX_BODY:
        raise refuse(413, "payload_too_large")
    return environ["wsgi.input"].read(int(length)) if int(length) else b""


def parse_json(body):
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise refuse(400, "bad_request", "the body is not JSON") from error
    if not isinstance(request, dict):
        raise refuse(400, "bad_request", "the body is a JSON object")
    return request
