import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools.client import DingTalkError

_logger = logging.getLogger(__name__)

ADMIN = "canteen_dingtalk.group_dingtalk_admin"
BATCH_SECONDS = 10  # balance changes of one person this close together go as one message
MAX_ATTEMPTS = 10
ENQUEUE_LIMIT = 5000
SEND_LIMIT = 200  # messages of one send round
SEND_CHUNK = 50  # messages locked, sent and committed together
SEND_WORKERS = 4  # calls to DingTalk at the same time (system parameter canteen_dingtalk.send_workers)
USERIDS_PER_CALL = 100  # asyncsend_v2's userid_list
# Entries older than this (by their transaction's start) are certainly committed or rolled back:
# no transaction of the suite stays open that long (see readme/DESCRIPTION.md).
SETTLED_AFTER = timedelta(days=1)


class CanteenDingtalkMessage(models.Model):
    """A DingTalk work notification to one person about one or more balance changes.

    Rows are made by the enqueue cron from committed ledger entries (never inside the ledger's
    transaction) and sent by the send cron, with retries and back-off. A queue's state: read-only
    to users (canteen.protected.mixin), changed by the cron and by action_retry, as superuser."""

    _name = "canteen.dingtalk.message"
    _inherit = ["canteen.protected.mixin"]
    _description = "DingTalk Balance Message"
    _order = "id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, readonly=True, index=True, check_company=True
    )
    dingtalk_userid = fields.Char(
        string="DingTalk User", readonly=True, help="The recipient's DingTalk userid."
    )
    entry_ids = fields.Many2many(
        "canteen.ledger.entry",
        "canteen_dingtalk_message_entry_rel",
        "message_id",
        "entry_id",
        string="Ledger Entries",
        readonly=True,
        help="The balance changes this message tells of.",
    )
    max_entry_id = fields.Integer(readonly=True, help="The newest ledger entry of the message.")
    last_entry_date = fields.Datetime(readonly=True, help="When the newest balance change happened.")
    state = fields.Selection(
        [("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed"), ("skipped", "Not Sent")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
        help="Pending: waiting to be sent or retried. Failed: given up after the retries. "
        "Not sent: the person has no DingTalk user, opted out, or messages are off.",
    )
    skip_reason = fields.Char(readonly=True, help="Why the message is not sent.")
    body = fields.Text(readonly=True, help="The text sent, in the person's language.")
    low_balance = fields.Boolean(readonly=True, help="The message carries a low-balance alert.")
    attempts = fields.Integer(readonly=True, help="Failed sending attempts so far.")
    next_try = fields.Datetime(readonly=True, index=True, help="Not sent before this time (back-off).")
    last_error = fields.Char(readonly=True, help="DingTalk's answer to the last failed attempt.")
    sent_date = fields.Datetime(string="Sent", readonly=True, help="When DingTalk accepted the message.")
    task_id = fields.Char(readonly=True, help="DingTalk's task id of the sent message.")

    def init(self):
        # One message per ledger entry, ever: the enqueue's NOT EXISTS relies on this index.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS canteen_dingtalk_message_entry_rel_entry_uniq
                    ON canteen_dingtalk_message_entry_rel (entry_id);
                CREATE INDEX IF NOT EXISTS canteen_dingtalk_message_create_date_idx
                    ON canteen_dingtalk_message (create_date);
                """
            )
        )

    # actions -----------------------------------------------------------------------------------
    def action_retry(self):
        """Send failed messages again (DingTalk Administrators of the messages' companies)."""
        if not self.env.user.has_group(ADMIN):
            raise AccessError(self.env._("Only DingTalk Administrators can resend messages."))
        self.check_access("read")
        allowed = self.env["res.company"].search([("id", "child_of", self.env.companies.ids)])
        if self.company_id - allowed:
            raise AccessError(self.env._("These messages belong to another company."))
        failed = self.sudo().filtered(lambda m: m.state == "failed")
        failed.write({"state": "pending", "attempts": 0, "next_try": fields.Datetime.now()})
        return True

    # cron --------------------------------------------------------------------------------------
    @api.model
    def _cron_process(self, rounds=20):
        """Enqueue what committed since the last run, then send what is due; a few rounds of
        each so that a busy minute (a meal peak) does not build a backlog."""
        for _round in range(rounds):
            queued = self.sudo()._enqueue_new_entries()
            self._commit_progress(commit=True)
            if not queued:
                break
        for _round in range(rounds):
            if len(self.sudo()._send_pending(commit=True)) < SEND_LIMIT:
                break

    # enqueue -----------------------------------------------------------------------------------
    @api.model
    def _enqueue_floor(self):
        """Ledger entries up to this id all have their message row, or never will commit.

        The newest entry of a message created more than SETTLED_AFTER ago was committed then;
        any entry with a smaller id was inserted before it, so its transaction is either
        committed (and then enqueued by the run that followed) or older than any transaction
        can be. Below this floor the NOT EXISTS scan has nothing to find."""
        self.env.cr.execute(
            SQL(
                """
                SELECT max_entry_id FROM canteen_dingtalk_message
                 WHERE create_date < %s ORDER BY create_date DESC LIMIT 1
                """,
                fields.Datetime.now() - SETTLED_AFTER,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] or 0 if row else 0

    @api.model
    def _enqueue_new_entries(self, limit=ENQUEUE_LIMIT):
        """One message row for every committed ledger entry that has none yet.

        A few queries per run, not per person: the entries are read in one query, the people
        and their open messages in one read each, the new rows inserted in one create and
        rendered together (_render)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT e.id, e.employee_id, e.date FROM canteen_ledger_entry e
                 WHERE e.id > %s
                   AND NOT EXISTS (SELECT 1 FROM canteen_dingtalk_message_entry_rel r WHERE r.entry_id = e.id)
                 ORDER BY e.id LIMIT %s
                """,
                self._enqueue_floor(),
                limit,
            )
        )
        by_employee = defaultdict(list)
        for entry_id, employee_id, date in self.env.cr.fetchall():
            by_employee[employee_id].append((date, entry_id))
        if not by_employee:
            return self.browse()
        employees = self.env["hr.employee"].sudo().with_context(active_test=False).browse(list(by_employee))
        employees.fetch(["company_id", "dingtalk_userid", "dingtalk_opt_out"])
        reasons = {employee: self._skip_reason(employee) for employee in employees}
        open_messages = self._open_messages(
            employees.filtered(lambda e: not reasons[e]),
            min(min(changes)[0] for changes in by_employee.values()),
        )
        vals_list, grown = [], []
        for employee in employees:
            changes = sorted(by_employee[employee.id])
            base = {"company_id": employee.company_id.id, "employee_id": employee.id}
            if reasons[employee]:
                vals_list.append(
                    {
                        **base,
                        "state": "skipped",
                        "skip_reason": reasons[employee],
                        **self._entry_values(changes),
                    }
                )
                continue
            batches, batch = [], changes[:1]
            for change in changes[1:]:
                if change[0] - batch[-1][0] > timedelta(seconds=BATCH_SECONDS):
                    batches.append(batch)
                    batch = [change]
                else:
                    batch.append(change)
            batches.append(batch)
            open_message = open_messages.get(employee.id)
            if open_message and open_message.last_entry_date >= batches[0][0][0] - timedelta(
                seconds=BATCH_SECONDS
            ):
                # The person's last message is not sent yet and these changes follow it closely:
                # the message grows.
                earlier = [
                    (open_message.last_entry_date, entry_id) for entry_id in open_message.entry_ids.ids
                ]
                grown.append((open_message, earlier + batches.pop(0)))
            now = fields.Datetime.now()
            vals_list += [
                {
                    **base,
                    "dingtalk_userid": employee.dingtalk_userid,
                    "next_try": now,
                    **self._entry_values(batch),
                }
                for batch in batches
            ]
        for message, changes in grown:
            message.write(self._entry_values(changes))
        created = self.create(vals_list)
        grown_messages = self.browse([message.id for message, _changes in grown])
        (grown_messages | created.filtered(lambda m: m.state == "pending"))._render()
        return created | grown_messages

    def _open_messages(self, employees, since):
        """The newest message of each person that may still grow: pending, never tried, and
        close enough to the earliest of the new changes."""
        if not employees:
            return {}
        newest = {}
        for message in self.search(
            [
                ("employee_id", "in", employees.ids),
                ("state", "=", "pending"),
                ("attempts", "=", 0),
                ("last_entry_date", ">=", since - timedelta(seconds=BATCH_SECONDS)),
            ],
            order="id desc",
        ):
            newest.setdefault(message.employee_id.id, message)
        return newest

    def _skip_reason(self, employee):
        company = employee.company_id.sudo()
        if not company.dingtalk_notify or not company.dingtalk_agent_id:
            return self.env._("DingTalk messages are off for the company.")
        if not employee.dingtalk_userid:
            return self.env._("No DingTalk user.")
        if employee.dingtalk_opt_out:
            return self.env._("The person opted out.")
        return False

    @api.model
    def _entry_values(self, changes):
        """Values of a message telling of `changes`, (date, entry id) pairs."""
        return {
            "entry_ids": [fields.Command.set([entry_id for _date, entry_id in changes])],
            "max_entry_id": max(entry_id for _date, entry_id in changes),
            "last_entry_date": max(date for date, _entry_id in changes),
        }

    def _render(self):
        """The messages' texts, each in its person's language (zh_CN unless their user says
        otherwise) and time zone. Everything is read up front in a few queries (messages,
        entries, merchants, people, users, wallets); the texts are then put together in Python
        and written in one flush."""
        if not self:
            return
        installed = dict(self.env["res.lang"].get_installed())
        self.fetch(["employee_id", "entry_ids"])
        entries = self.entry_ids
        entries.fetch(
            ["date", "kind", "wallet_kind", "amount", "balance_after", "merchant_id", "terminal_ref"]
        )
        employees = self.employee_id
        employees.fetch(["user_id", "tz", "company_id", "wallet_ids"])
        employees.user_id.fetch(["lang"])
        employees.wallet_ids.fetch(["kind", "balance"])
        employees.company_id.sudo().fetch(["currency_id", "dingtalk_low_balance"])
        by_lang = defaultdict(list)
        for message in self:
            lang = message.employee_id.user_id.lang or "zh_CN"
            if lang not in installed:
                lang = self.env.lang if self.env.lang in installed else "en_US"
            by_lang[lang].append(message)
        zones = {}
        for lang, messages in by_lang.items():
            env = self.with_context(lang=lang).env
            texts = {
                "title": env._("Canteen card balance change"),
                "desk": env._("Card desk"),
                "kinds": dict(entries._fields["kind"]._description_selection(env)),
                "wallets": dict(entries._fields["wallet_kind"]._description_selection(env)),
                "merchants": {m.id: m.name for m in entries.merchant_id.with_env(env)},
            }
            for message in messages:
                tz = message.employee_id.tz or "Asia/Shanghai"
                if tz not in zones:
                    try:
                        zones[tz] = pytz.timezone(tz)
                    except pytz.UnknownTimeZoneError:
                        zones[tz] = pytz.utc
                body, low = message._render_text(env, texts, zones[tz])
                message.write({"body": body, "low_balance": low})

    def _render_text(self, env, texts, zone):
        """(text, low-balance alert) of one message, from records already read."""
        employee = self.employee_id
        company = employee.company_id
        entries = self.entry_ids.sorted(lambda e: (e.date, e.id))
        symbol = company.currency_id.symbol or ""
        after = {wallet.kind: wallet.balance for wallet in employee.wallet_ids}
        seen = set()
        for entry in reversed(entries):
            if entry.wallet_kind not in seen:
                after[entry.wallet_kind] = entry.balance_after
                seen.add(entry.wallet_kind)
        lines = [texts["title"]]
        for entry in entries:
            when = pytz.utc.localize(entry.date).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            place = texts["merchants"].get(entry.merchant_id.id) or entry.terminal_ref or texts["desk"]
            sign = "+" if entry.amount > 0 else "-"
            amount = f"{sign}{symbol}{abs(entry.amount):.2f}"
            balance = f"{symbol}{entry.balance_after:.2f}"
            lines.append(
                env._(
                    "%(time)s %(kind)s %(amount)s (%(wallet)s), balance after %(balance)s, %(place)s",
                    time=when,
                    kind=texts["kinds"].get(entry.kind, entry.kind),
                    amount=amount,
                    wallet=texts["wallets"].get(entry.wallet_kind, entry.wallet_kind),
                    balance=balance,
                    place=place,
                )
            )
        total = sum(after.values())
        total_text = f"{symbol}{total:.2f}"
        lines.append(env._("Total balance: %(total)s", total=total_text))
        threshold = company.sudo().dingtalk_low_balance
        low = bool(threshold) and total < threshold and any(e.amount < 0 for e in entries)
        if low:
            threshold_text = f"{symbol}{threshold:.2f}"
            lines.append(
                env._("Your balance is below %(threshold)s: please top up.", threshold=threshold_text)
            )
        return "\n".join(lines), low

    # send --------------------------------------------------------------------------------------
    @api.model
    def _send_pending(self, limit=SEND_LIMIT, commit=False):
        """Send what is due, SEND_CHUNK messages at a time. Each chunk is locked (FOR UPDATE SKIP
        LOCKED: a concurrent sender skips it), sent and marked; with `commit` (the cron) it is
        committed before the next is taken, so a message is marked sent in the transaction that
        locked it and a crash re-sends at most the chunk under way. Every message taken leaves
        the due ones (sent, or its next try put off), so the loop ends."""
        taken = self.browse()
        while len(taken) < limit:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT id FROM canteen_dingtalk_message
                     WHERE state = 'pending' AND next_try <= %s
                     ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                    """,
                    fields.Datetime.now(),
                    min(SEND_CHUNK, limit - len(taken)),
                )
            )
            chunk = self.browse([row[0] for row in self.env.cr.fetchall()])
            if not chunk:
                break
            chunk.fetch(["company_id", "dingtalk_userid", "body", "next_try", "attempts"])
            for company in chunk.company_id:
                self._send_company(
                    company, chunk.filtered(lambda m, company=company: m.company_id == company)
                )
            taken |= chunk
            self._commit_progress(commit)
            if len(chunk) < SEND_CHUNK:
                break
        return taken

    def _commit_progress(self, commit):
        """Commit the work done so far when running as the cron (never inside a test)."""
        if commit and not getattr(threading.current_thread(), "testing", False):
            # The messages' own transaction in the cron, as Odoo's mail queue does: DingTalk
            # accepted them, their row must say so before the next chunk is taken.
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _send_company(self, company, messages):
        """Send one company's messages.

        asyncsend_v2 takes a userid_list: people who get the very same text get it in one call
        (up to USERIDS_PER_CALL). Texts mostly differ from one person to the next (amounts,
        balances, times), so most calls carry one person: they go `send_workers` at a time over
        one pooled keep-alive session. When DingTalk is down or throttling, the messages not
        tried yet wait with the failed one's back-off."""
        params = self.env["ir.config_parameter"].sudo()
        timeout = float(params.get_param("canteen_dingtalk.send_timeout", "5"))
        workers = max(1, int(params.get_param("canteen_dingtalk.send_workers", SEND_WORKERS)))
        agent_id = company.sudo().dingtalk_agent_id
        calls, open_calls = [], {}
        for message in messages:
            call = open_calls.get(message.body)
            if not call or len(call[1]) >= USERIDS_PER_CALL or message.dingtalk_userid in call[1]:
                call = open_calls[message.body] = (message.body, [], [])
                calls.append(call)
            call[1].append(message.dingtalk_userid)
            call[2].append(message.id)
        if not calls:
            return
        client = company._dingtalk_client(max_retries=1, timeout=timeout, pool_size=workers)

        def send(call):
            # In a worker thread: plain strings only, no ORM.
            try:
                return client.send_text(agent_id, call[1], call[0]), None
            except DingTalkError as error:
                return None, error

        with ThreadPoolExecutor(max_workers=min(workers, len(calls))) as pool:
            for start in range(0, len(calls), workers):
                wave = calls[start : start + workers]
                halted = None
                for (_body, _userids, ids), (task_id, error) in zip(wave, pool.map(send, wave), strict=True):
                    batch = self.browse(ids)
                    if error is None:
                        batch.write(
                            {
                                "state": "sent",
                                "sent_date": fields.Datetime.now(),
                                "task_id": task_id,
                                "last_error": False,
                            }
                        )
                        continue
                    for message in batch:
                        message._failed(str(error))
                    if error.retryable:
                        halted = halted or batch[:1]
                if halted:
                    rest = self.browse([i for _body, _userids, ids in calls[start + workers :] for i in ids])
                    rest.write({"next_try": halted.next_try})
                    return

    def _failed(self, error):
        attempts = self.attempts + 1
        delay = timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))
        self.write(
            {
                "attempts": attempts,
                "last_error": error[:500],
                "next_try": fields.Datetime.now() + delay,
                "state": "failed" if attempts >= MAX_ATTEMPTS else "pending",
            }
        )
        _logger.info("DingTalk message %s not sent (attempt %s): %s", self.id, attempts, error)
