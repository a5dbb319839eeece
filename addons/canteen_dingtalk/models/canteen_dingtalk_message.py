import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools.client import DingTalkError

_logger = logging.getLogger(__name__)

ADMIN = "canteen_dingtalk.group_dingtalk_admin"
BATCH_SECONDS = 10  # balance changes of one person this close together go as one message
MAX_ATTEMPTS = 10
ENQUEUE_LIMIT = 5000
SEND_LIMIT = 200
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
            if not self.sudo()._enqueue_new_entries():
                break
        for _round in range(rounds):
            if len(self.sudo()._send_pending()) < SEND_LIMIT:
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
        """One message row for every committed ledger entry that has none yet."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT e.id FROM canteen_ledger_entry e
                 WHERE e.id > %s
                   AND NOT EXISTS (SELECT 1 FROM canteen_dingtalk_message_entry_rel r WHERE r.entry_id = e.id)
                 ORDER BY e.id LIMIT %s
                """,
                self._enqueue_floor(),
                limit,
            )
        )
        entries = self.env["canteen.ledger.entry"].sudo().browse([row[0] for row in self.env.cr.fetchall()])
        messages = self.browse()
        for employee in entries.employee_id:
            own = entries.filtered(lambda e, employee=employee: e.employee_id == employee)
            messages |= self._enqueue_for(employee, own.sorted(lambda e: (e.date, e.id)))
        return messages

    def _skip_reason(self, employee):
        company = employee.company_id.sudo()
        if not company.dingtalk_notify or not company.dingtalk_agent_id:
            return self.env._("DingTalk messages are off for the company.")
        if not employee.dingtalk_userid:
            return self.env._("No DingTalk user.")
        if employee.dingtalk_opt_out:
            return self.env._("The person opted out.")
        return False

    def _enqueue_for(self, employee, entries):
        reason = self._skip_reason(employee)
        base = {"company_id": employee.company_id.id, "employee_id": employee.id}
        if reason:
            return self.create(
                [{**base, "state": "skipped", "skip_reason": reason, **self._entry_values(entries)}]
            )
        batches, batch = [], entries[:1]
        for entry in entries[1:]:
            if entry.date - batch[-1].date > timedelta(seconds=BATCH_SECONDS):
                batches.append(batch)
                batch = entry
            else:
                batch |= entry
        batches.append(batch)
        messages = self.browse()
        open_message = self.search(
            [
                ("employee_id", "=", employee.id),
                ("state", "=", "pending"),
                ("attempts", "=", 0),
                ("last_entry_date", ">=", batches[0][0].date - timedelta(seconds=BATCH_SECONDS)),
            ],
            order="id desc",
            limit=1,
        )
        for batch in batches:
            if open_message:
                batch = open_message.entry_ids | batch  # noqa: PLW2901 (the message grows)
                open_message.write(self._entry_values(batch))
                message, open_message = open_message, None
            else:
                message = self.create(
                    [
                        {
                            **base,
                            "dingtalk_userid": employee.dingtalk_userid,
                            "next_try": fields.Datetime.now(),
                            **self._entry_values(batch),
                        }
                    ]
                )
            message._render()
            messages |= message
        return messages

    @api.model
    def _entry_values(self, entries):
        return {
            "entry_ids": [fields.Command.set(entries.ids)],
            "max_entry_id": max(entries.ids),
            "last_entry_date": max(entries.mapped("date")),
        }

    def _render(self):
        """The message text in the person's language (zh_CN unless their user says otherwise)."""
        installed = dict(self.env["res.lang"].get_installed())
        for message in self:
            employee = message.employee_id
            lang = employee.user_id.lang or "zh_CN"
            if lang not in installed:
                lang = self.env.lang if self.env.lang in installed else "en_US"
            env = self.with_context(lang=lang, tz=employee.tz or "Asia/Shanghai").env
            entries = message.entry_ids.with_env(env).sorted(lambda e: (e.date, e.id))
            kinds = dict(entries._fields["kind"]._description_selection(env))
            wallets = dict(entries._fields["wallet_kind"]._description_selection(env))
            symbol = employee.company_id.currency_id.symbol or ""
            lines = [env._("Canteen card balance change")]
            after = {w.kind: w.balance for w in employee.wallet_ids}
            seen = set()
            for entry in reversed(entries):
                if entry.wallet_kind not in seen:
                    after[entry.wallet_kind] = entry.balance_after
                    seen.add(entry.wallet_kind)
            for entry in entries:
                when = fields.Datetime.context_timestamp(entries, entry.date).strftime("%Y-%m-%d %H:%M:%S")
                place = entry.merchant_id.name or entry.terminal_ref or env._("Card desk")
                sign = "+" if entry.amount > 0 else "-"
                amount = f"{sign}{symbol}{abs(entry.amount):.2f}"
                balance = f"{symbol}{entry.balance_after:.2f}"
                line = env._(
                    "%(time)s %(kind)s %(amount)s (%(wallet)s), balance after %(balance)s, %(place)s",
                    time=when,
                    kind=kinds.get(entry.kind, entry.kind),
                    amount=amount,
                    wallet=wallets.get(entry.wallet_kind, entry.wallet_kind),
                    balance=balance,
                    place=place,
                )
                lines.append(line)
            total = sum(after.values())
            total_text = f"{symbol}{total:.2f}"
            lines.append(env._("Total balance: %(total)s", total=total_text))
            threshold = employee.company_id.sudo().dingtalk_low_balance
            low = bool(threshold) and total < threshold and any(e.amount < 0 for e in entries)
            if low:
                threshold_text = f"{symbol}{threshold:.2f}"
                lines.append(
                    env._("Your balance is below %(threshold)s: please top up.", threshold=threshold_text)
                )
            message.write({"body": "\n".join(lines), "low_balance": low})

    # send --------------------------------------------------------------------------------------
    @api.model
    def _send_pending(self, limit=SEND_LIMIT):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM canteen_dingtalk_message
                 WHERE state = 'pending' AND next_try <= %s
                 ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                fields.Datetime.now(),
                limit,
            )
        )
        messages = self.browse([row[0] for row in self.env.cr.fetchall()])
        for company in messages.company_id:
            own = messages.filtered(lambda m, company=company: m.company_id == company)
            self._send_company(company, own)
        return messages

    def _send_company(self, company, messages):
        params = self.env["ir.config_parameter"].sudo()
        timeout = float(params.get_param("canteen_dingtalk.send_timeout", "5"))
        client = company._dingtalk_client(max_retries=1, timeout=timeout)
        agent_id = company.sudo().dingtalk_agent_id
        for index, message in enumerate(messages):
            try:
                task_id = client.send_text(agent_id, [message.dingtalk_userid], message.body)
            except DingTalkError as error:
                message._failed(str(error))
                if error.retryable:
                    # DingTalk is down or throttling: the rest wait for the next run.
                    messages[index + 1 :].write({"next_try": message.next_try})
                    return
                continue
            message.write(
                {"state": "sent", "sent_date": fields.Datetime.now(), "task_id": task_id, "last_error": False}
            )

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
