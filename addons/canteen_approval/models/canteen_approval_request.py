from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL

from odoo.addons.canteen_card.tools.access import FINANCE, check_caller
from odoo.addons.canteen_card.tools.display import notification

KIND_SELECTION = [
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("topup_import", "Top-up Import"),
    ("refund_import", "Refund Import"),
    ("subsidy_grant", "Subsidy Grant"),
    ("correction", "Correction"),
    ("manual_entry", "Manual Entry"),
]
# The wizard that posts each kind once approved: a request can post nothing else.
KIND_WIZARDS = {
    "topup": "canteen.topup.wizard",
    "refund": "canteen.topup.wizard",
    "topup_import": "canteen.topup.import.wizard",
    "refund_import": "canteen.refund.import.wizard",
    "subsidy_grant": "canteen.subsidy.grant.wizard",
    "correction": "canteen.correction.wizard",
    "manual_entry": "canteen.manual.entry.wizard",
}
OPEN_STATES = ("waiting", "approved")


class CanteenApprovalRequest(models.Model):
    """A desk operation above its company's threshold (多级审批), drafted instead of posted.

    The operator's wizard checks the caller, then stores here what it would have posted (its
    values, the Excel file of an import). A Card Finance user other than the operator approves
    it, a second one above the second threshold, and the last approval posts it through the
    wizard's own posting method, as the operator's operation: balances change once, when it is
    posted. A refusal keeps its reason. Every step goes to the chatter and the operation log.
    """

    _name = "canteen.approval.request"
    _inherit = ["canteen.protected.mixin", "mail.thread"]
    _description = "Desk Operation Approval"
    _order = "id desc"
    _mail_post_access = "read"

    name = fields.Char(string="Reference", required=True, readonly=True, copy=False, default="/")
    kind = fields.Selection(KIND_SELECTION, required=True, readonly=True, index=True, help="What is posted.")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("waiting", "Waiting for Approval"),
            ("approved", "First Level Approved"),
            ("refused", "Refused"),
            ("posted", "Posted"),
        ],
        required=True,
        readonly=True,
        default="draft",
        index=True,
        tracking=True,
        help="Waiting: for its first approval. First level approved: for the second approval. Posted: "
        "approved and posted through the ledger.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, help="The company of the operation."
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Companies",
        readonly=True,
        help="Every company whose cardholders the operation moves money of: the approvers work in all.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(readonly=True, help="The total the operation moves, all cardholders together.")
    summary = fields.Char(readonly=True, help="What the operation does, as the operator asked for it.")
    employee_ids = fields.Many2many("hr.employee", string="Cardholders", readonly=True)
    employee_count = fields.Integer(string="Cardholder Count", readonly=True)
    levels = fields.Integer(
        string="Approval Levels", readonly=True, default=1, help="1, or 2 above the second threshold."
    )
    payload = fields.Json(readonly=True, help="The wizard values posted once approved.")
    payload_file = fields.Binary(
        string="File", attachment=True, readonly=True, help="The Excel file of an import."
    )
    payload_filename = fields.Char(string="File Name", readonly=True)
    requested_by_id = fields.Many2one(
        "res.users", required=True, readonly=True, index=True, help="The operator."
    )
    requested_date = fields.Datetime(readonly=True)
    first_approver_id = fields.Many2one("res.users", readonly=True)
    first_approved_date = fields.Datetime(readonly=True)
    second_approver_id = fields.Many2one("res.users", readonly=True)
    second_approved_date = fields.Datetime(readonly=True)
    refused_by_id = fields.Many2one("res.users", readonly=True)
    refused_date = fields.Datetime(readonly=True)
    refuse_reason = fields.Text(string="Refusal Reason", readonly=True)
    posted_date = fields.Datetime(readonly=True)
    result = fields.Char(readonly=True, help="What the posting reported.")
    correction_entry_id = fields.Many2one(
        "canteen.ledger.entry",
        string="Charge Corrected",
        compute="_compute_correction",
        help="For a correction: the charge it lowers.",
    )
    correction_charged_on = fields.Datetime(
        related="correction_entry_id.date", string="Charged On", help="When the corrected charge was made."
    )
    correction_merchant_id = fields.Many2one(
        related="correction_entry_id.merchant_id",
        string="Charged At",
        help="Where the corrected charge was made.",
    )
    correction_new_amount = fields.Monetary(
        string="Corrected To",
        compute="_compute_correction",
        help="For a correction: what the charge will stand at once posted (0: refunded in full).",
    )
    can_approve = fields.Boolean(
        compute="_compute_can_approve",
        search="_search_can_approve",
        string="To Approve by Me",
        help="Waiting for an approval that you may give: you are Card Finance and neither drafted it "
        "nor approved it already.",
    )

    @api.depends("kind", "payload")
    def _compute_correction(self):
        Entry = self.env["canteen.ledger.entry"]
        for request in self:
            values = (request.payload or {}).get("values") or {} if request.kind == "correction" else {}
            request.correction_entry_id = Entry.browse(values.get("entry_id") or [])
            request.correction_new_amount = float(values.get("new_amount") or 0)

    @api.depends_context("uid")
    @api.depends("state", "requested_by_id", "first_approver_id")
    def _compute_can_approve(self):
        finance = self.env.user.has_group(FINANCE)
        for request in self:
            request.can_approve = (
                finance
                and request.state in OPEN_STATES
                and self.env.user not in request.requested_by_id | request.first_approver_id
            )

    def _search_can_approve(self, operator, value):
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on %(field)s.", field="can_approve"))
        if self.env.user.has_group(FINANCE):
            domain = [
                ("state", "in", OPEN_STATES),
                ("requested_by_id", "!=", self.env.uid),
                ("first_approver_id", "!=", self.env.uid),
            ]
        else:
            domain = expression.FALSE_DOMAIN
        positive = (operator == "=") == bool(value)
        return domain if positive else ["!", *expression.normalize_domain(domain)]

    # drafting (called by the wizards, as superuser, once they have checked the caller) --------
    @api.model
    def _draft(self, kind, amount, employees, companies, *, summary, values, file=None, filename=None):
        """The approval request of an operation of `amount` (Decimal) when its companies ask for
        one, submitted; an empty recordset when it may be posted at once."""
        companies = companies.sudo()
        levels = companies._canteen_approval_levels(amount)
        if not levels:
            return self.browse()
        company = companies.sorted(lambda c: (len(c.parent_path or ""), c.id))[:1]
        request = self.sudo().create(
            {
                "name": self.env["ir.sequence"].sudo().next_by_code("canteen.approval.request") or "/",
                "kind": kind,
                "company_id": company.id,
                "company_ids": [fields.Command.set(companies.ids)],
                "amount": float(amount),
                "summary": summary,
                "employee_ids": [fields.Command.set(employees.ids)],
                "employee_count": len(employees),
                "levels": levels,
                "payload": {"values": values, "companies": self.env.companies.ids},
                "payload_file": file,
                "payload_filename": filename,
                "requested_by_id": self.env.uid,
                "requested_date": fields.Datetime.now(),
            }
        )
        request._submit()
        return request

    def _submit(self):
        self.sudo().write({"state": "waiting"})
        for request in self:
            amount = f"{request.amount:.2f}"
            request._trace(
                "approval_request",
                self.env._(
                    "%(request)s: %(summary)s, %(amount)s, sent for approval (%(levels)s level(s)).",
                    request=request.name,
                    summary=request.summary,
                    amount=amount,
                    levels=request.levels,
                ),
            )

    def _sent_notification(self):
        self.ensure_one()
        amount = f"{self.amount:.2f}"
        return notification(
            self.env._(
                "%(summary)s (%(amount)s) is above the approval threshold: sent for approval as "
                "%(request)s. Nothing is posted until a Card Finance user approves it.",
                summary=self.summary,
                amount=amount,
                request=self.name,
            ),
            title=self.env._("Sent for Approval"),
            kind="info",
        )

    def _trace(self, action, message):
        """One step: a chatter message and an operation log line, by the current user."""
        self.ensure_one()
        self.sudo().message_post(body=message, subtype_xmlid="mail.mt_note")
        self.env["canteen.operation.log"].sudo().create(
            {
                "action": action,
                "user_id": self.env.uid,
                "company_id": self.company_id.id,
                "note": message,
            }
        )

    # actions ----------------------------------------------------------------------------------
    def action_approve(self):
        posted = self.browse()
        for request in self:
            if request._approve():
                posted |= request
        if len(self) == 1:
            message = (
                self.env._("%(request)s approved and posted.", request=self.name)
                if posted
                else self.env._("%(request)s approved; it waits for a second approval.", request=self.name)
            )
        else:
            message = self.env._(
                "%(count)s requests approved, %(posted)s posted.", count=len(self), posted=len(posted)
            )
        return notification(message, title=self.env._("Approved"))

    def action_refuse(self, reason=None):
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise UserError(self.env._("Give the reason of the refusal."))
        for request in self:
            request._decide()
            request.sudo().write(
                {
                    "state": "refused",
                    "refused_by_id": self.env.uid,
                    "refused_date": fields.Datetime.now(),
                    "refuse_reason": reason,
                }
            )
            request._trace(
                "approval_refuse",
                self.env._("%(request)s refused: %(reason)s", request=request.name, reason=reason),
            )
        return True

    def _decide(self):
        """Check that the current user may decide on this request now, with the request locked
        (two approvers pressing at once: the second waits, then finds it decided)."""
        self.ensure_one()
        check_caller(self.env, FINANCE, self.sudo().company_ids | self.sudo().company_id)
        self.env.cr.execute(SQL("SELECT id FROM canteen_approval_request WHERE id = %s FOR UPDATE", self.id))
        self.invalidate_recordset()
        request = self.sudo()
        if request.state not in OPEN_STATES:
            raise UserError(
                self.env._(
                    "%(request)s is %(state)s: there is nothing left to decide.",
                    request=request.name,
                    state=dict(request._fields["state"]._description_selection(self.env))[request.state],
                )
            )
        if request.requested_by_id == self.env.user:
            raise UserError(
                self.env._(
                    "You sent %(request)s for approval: another Card Finance user decides on it.",
                    request=request.name,
                )
            )
        if request.first_approver_id == self.env.user:
            raise UserError(
                self.env._(
                    "You gave the first approval of %(request)s: the second is another Card Finance user's.",
                    request=request.name,
                )
            )

    def _approve(self):
        """Approve as the current user; True when the approval was the last one and posted."""
        self._decide()
        request = self.sudo()
        now = fields.Datetime.now()
        if request.levels > 1 and request.state == "waiting":
            request.write(
                {"state": "approved", "first_approver_id": self.env.uid, "first_approved_date": now}
            )
            request._trace(
                "approval_approve",
                self.env._("%(request)s: first approval; it waits for a second one.", request=request.name),
            )
            return False
        if request.state == "approved":
            request.write({"second_approver_id": self.env.uid, "second_approved_date": now})
        else:
            request.write({"first_approver_id": self.env.uid, "first_approved_date": now})
        request._trace("approval_approve", self.env._("%(request)s approved.", request=request.name))
        result = request._post()
        request.write({"state": "posted", "posted_date": fields.Datetime.now(), "result": result or False})
        request.message_post(
            body=self.env._("%(request)s posted. %(result)s", request=request.name, result=result or ""),
            subtype_xmlid="mail.mt_note",
        )
        return True

    def _post(self):
        """Post the approved operation through its wizard's one posting method, as the operator who
        drafted it (the operation log and the ledger name them), in the companies they worked in."""
        self.ensure_one()
        requester = self.requested_by_id
        companies = [c for c in (self.payload or {}).get("companies", []) if c in requester.company_ids.ids]
        context = {
            "lang": self.env.lang,
            "tz": requester.tz,
            "allowed_company_ids": companies or requester.company_id.ids,
        }
        env = self.env(user=requester.id, su=True, context=context)
        values = dict((self.payload or {}).get("values", {}))
        if self.payload_file:
            values.update(file=self.payload_file, filename=self.payload_filename)
        wizard = env[KIND_WIZARDS[self.kind]].create(values)
        return wizard._canteen_approval_post(self)
