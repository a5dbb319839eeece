import json
import logging
import os
import tempfile

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.canteen_card.tools.access import check_caller

from ..tools import xlsx
from .canteen_report import DETAIL_INLINE_COLUMNS, DETAIL_KINDS, SUMMARY_KINDS

_logger = logging.getLogger(__name__)

EXPORT_STATE_SELECTION = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
]


class CanteenReportExport(models.Model):
    """A heavy export run in the background (after the request's commit, by a cron), as the
    user who asked for it, with their companies: it lands as an attachment and a notification."""

    _name = "canteen.report.export"
    _description = "Report Export"
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, help="The report and its period.")
    user_id = fields.Many2one(
        "res.users", string="Requested By", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, help="The user's company then.")
    report_kind = fields.Char(required=True, readonly=True, help="The report exported.")
    filters = fields.Text(readonly=True, help="The filters of the report, as JSON.")
    allowed_company_ids = fields.Char(readonly=True, help="The companies the user worked in, as JSON.")
    state = fields.Selection(EXPORT_STATE_SELECTION, required=True, default="queued", readonly=True)
    row_count = fields.Integer(string="Rows", readonly=True, help="Rows the export holds.")
    progress = fields.Integer(string="Rows Written", readonly=True, help="Rows written so far.")
    progress_percent = fields.Float(
        string="Progress",
        compute="_compute_progress_percent",
        help="Share of the rows written so far, in percent (the file is then compressed).",
    )
    attachment_id = fields.Many2one("ir.attachment", string="File", readonly=True, ondelete="set null")
    file = fields.Binary(related="attachment_id.datas", string="Download")
    file_name = fields.Char(related="attachment_id.name", string="File Name")
    error = fields.Text(readonly=True, help="Why the export failed.")
    date_done = fields.Datetime(string="Finished", readonly=True)

    def _compute_progress_percent(self):
        for job in self:
            if job.state == "done":
                job.progress_percent = 100.0
            elif job.row_count:
                job.progress_percent = min(100.0, 100.0 * job.progress / job.row_count)
            else:
                job.progress_percent = 0.0

    def _enqueue(self, kind, filters, count):
        """Queue an export of the caller's report and wake the cron (it runs after this commits)."""
        check_caller(self.env, "canteen_report.group_report_reader")
        labels = dict(
            self.env["canteen.report.wizard"]._fields["report_kind"]._description_selection(self.env)
        )
        job = self.sudo().create(
            {
                "name": f"{labels[kind]} {filters['date_from']} – {filters['date_to']}",
                "user_id": self.env.uid,
                "company_id": self.env.company.id,
                "report_kind": kind,
                "filters": json.dumps(filters, default=str),
                "allowed_company_ids": json.dumps(self.env.companies.ids),
                "row_count": count,
            }
        )
        self.env.ref("canteen_report.ir_cron_report_export").sudo()._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "title": self.env._("Export queued"),
                "message": self.env._(
                    "%(rows)s rows are exported in the background; you are notified when the file "
                    "is ready under Reports > Exports.",
                    rows=count,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
            "res_id": job.id,
        }

    def _job_env_report(self):
        """The report engine as the requesting user, in their companies (their record rules)."""
        companies = json.loads(self.allowed_company_ids or "[]") or [self.company_id.id]
        return self.env["canteen.report"].with_user(self.user_id).with_context(allowed_company_ids=companies)

    def _filters(self):
        filters = json.loads(self.filters or "{}")
        for key in ("date_from", "date_to"):
            filters[key] = fields.Date.to_date(filters[key])
        return filters

    def _workbook(self, kind, filters, subtitle="", progress=None, target=None):
        """The .xlsx of report `kind` (bytes, or written to `target`) with the engine of `self`'s
        environment (the caller's rights)."""
        Report = self.env["canteen.report"]
        book, output = xlsx.workbook(target)
        if kind in SUMMARY_KINDS:
            xlsx.write_summary(book, Report._summary(kind, filters), subtitle)
        elif kind in DETAIL_KINDS:
            labels = dict(
                self.env["canteen.report.wizard"]._fields["report_kind"]._description_selection(self.env)
            )
            xlsx.write_details(
                book,
                labels[kind],
                Report._detail_headers(),
                Report._detail_rows(kind, filters),
                total_label=self.env._("Total"),
                progress=progress,
                inline_columns=DETAIL_INLINE_COLUMNS,
            )
        else:
            raise UserError(self.env._("Unknown report."))
        xlsx.close(book)
        return output.getvalue() if target is None else None

    def _cron_run(self):
        """Run the oldest queued export; the cron is called again while some remain. The cron's
        own transaction only reads: the job's state, progress and file are written on short
        transactions of their own, so the user sees them as they happen."""
        job = self.search([("state", "=", "queued")], order="id", limit=1)
        if not job:
            return
        job._run()
        remaining = self.search_count([("state", "=", "queued"), ("id", "!=", job.id)])
        self.env["ir.cron"]._notify_progress(done=1, remaining=remaining)

    def _run(self):
        self.ensure_one()
        self._set({"state": "running", "progress": 0})
        handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="canteen_report_")
        os.close(handle)
        try:
            export = self.with_env(self._job_env_report().env)
            with self.env.cr.savepoint():
                export._workbook(self.report_kind, self._filters(), progress=self._progress, target=path)
            with open(path, "rb") as file:
                content = file.read()
            self._set({"state": "done", "date_done": fields.Datetime.now()}, content)
            self._notify(self.env._("Your export %(name)s is ready.", name=self.name), "success")
        except Exception as error:  # the job fails and says why; the cron goes on with the next
            _logger.exception("canteen report export %s failed", self.id)
            self._set({"state": "failed", "error": str(error), "date_done": fields.Datetime.now()})
            self._notify(self.env._("Your export %(name)s failed.", name=self.name), "danger")
        finally:
            os.unlink(path)

    def _progress(self, rows):
        """Rows written so far, on the record at each batch; a notification at each quarter."""
        before = self.progress * 4 // self.row_count if self.row_count else 0
        self._set({"progress": rows})
        self.invalidate_recordset(["progress"])
        quarter = min(rows * 4 // self.row_count, 3) if self.row_count else 0
        if quarter > before:
            self._notify(
                self.env._("Export %(name)s: %(percent)s%% written.", name=self.name, percent=quarter * 25),
                "info",
            )

    def _set(self, values, content=None):
        """Write the job (and its file) on a transaction of its own, committed at once."""
        with self.env.registry.cursor() as cr:
            job = self.with_env(self.env(cr=cr, su=True))
            if content is not None:
                values["attachment_id"] = (
                    job.env["ir.attachment"]
                    .create(
                        {
                            "name": f"{job.name}.xlsx",
                            "raw": content,
                            "res_model": self._name,
                            "res_id": self.id,
                            "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        }
                    )
                    .id
                )
            job.write(values)

    def _notify(self, message, kind):
        self.user_id._bus_send(
            "simple_notification",
            {
                "type": kind,
                "title": self.env._("Canteen report"),
                "message": message,
                "sticky": kind == "danger",
            },
        )
