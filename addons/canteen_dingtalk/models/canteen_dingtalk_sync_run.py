import json
import logging
import time

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools.client import DingTalkError
from ..tools.crypto import CallbackError, DingTalkCrypto

_logger = logging.getLogger(__name__)

ADMIN = "canteen_dingtalk.group_dingtalk_admin"
ROOT_DEPT = 1
CALLBACK_MAX_AGE = 300  # seconds a callback's timestamp may differ from our clock
USER_EVENTS = {"user_add_org", "user_modify_org", "user_leave_org"}
DEPT_EVENTS = {"org_dept_create", "org_dept_modify", "org_dept_remove"}


class CanteenDingtalkSyncRun(models.Model):
    """One organisation sync from DingTalk (scheduled, by the button or by an event), with its
    summary. An audit record: read-only to users (canteen.protected.mixin), written by the sync
    itself as superuser, never by hand."""

    _name = "canteen.dingtalk.sync.run"
    _inherit = ["canteen.protected.mixin"]
    _description = "DingTalk Sync Run"
    _order = "id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    user_id = fields.Many2one(
        "res.users", string="Started By", readonly=True, help="Who started the run; the scheduler otherwise."
    )
    trigger = fields.Selection(
        [("cron", "Schedule"), ("manual", "Button"), ("event", "Event")],
        required=True,
        readonly=True,
        help="What started the run.",
    )
    event_type = fields.Char(readonly=True, help="The DingTalk event type of an event run.")
    date_start = fields.Datetime(string="Started", readonly=True, help="When the run started.")
    date_end = fields.Datetime(string="Finished", readonly=True, help="When the run finished.")
    state = fields.Selection(
        [("done", "Done"), ("partial", "Done with Errors"), ("failed", "Failed")],
        readonly=True,
        help="Failed: DingTalk could not be read and nothing changed. Done with errors: some "
        "records were refused (see the log), the rest applied.",
    )
    departments_created = fields.Integer(readonly=True, help="Departments created by the run.")
    departments_updated = fields.Integer(readonly=True, help="Departments renamed, moved or restored.")
    departments_archived = fields.Integer(readonly=True, help="Departments removed in DingTalk, archived.")
    employees_created = fields.Integer(string="Created", readonly=True, help="People created.")
    employees_updated = fields.Integer(string="Updated", readonly=True, help="People whose data changed.")
    employees_resigned = fields.Integer(
        string="Moved to the Pool",
        readonly=True,
        help="People no longer in DingTalk: cards blocked, moved to the resigned pool.",
    )
    employees_rehired = fields.Integer(
        string="Re-hired", readonly=True, help="People back in DingTalk, re-hired with their number."
    )
    error_count = fields.Integer(string="Errors", readonly=True, help="Records the run could not apply.")
    api_calls = fields.Integer(readonly=True, help="Calls made to DingTalk.")
    rate_limit_waits = fields.Integer(
        readonly=True, help="Times the run waited because DingTalk said too many calls."
    )
    log = fields.Text(readonly=True, help="Errors of the run.")

    # actions ---------------------------------------------------------------------------------
    @api.model
    def action_sync_now(self):
        """The button: sync the current company (DingTalk Administrators only)."""
        if not self.env.user.has_group(ADMIN):
            raise AccessError(self.env._("Only DingTalk Administrators can synchronise from DingTalk."))
        company = self.env.company
        if company not in self.env.user.company_ids:
            raise AccessError(self.env._("You cannot synchronise this company."))
        if not company._dingtalk_configured():
            raise UserError(
                self.env._("Set the DingTalk app key and secret of %(company)s first.", company=company.name)
            )
        run = self.sudo()._sync_company(company, "manual")
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": run.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model
    def _cron_sync(self):
        companies = self.env["res.company"].sudo().search([("dingtalk_sync_enabled", "=", True)])
        for company in companies.filtered(lambda c: c._dingtalk_configured()):
            self.sudo()._sync_company(company, "cron")

    # the sync ----------------------------------------------------------------------------------
    def _sync_company(self, company, trigger):
        """Read the whole organisation from DingTalk, then apply it; one run record."""
        started = fields.Datetime.now()
        summary = self._new_summary()
        client = company._dingtalk_client()
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", 0x64696E67, company.id)  # "ding"
        )
        if not self.env.cr.fetchone()[0]:
            raise UserError(self.env._("A DingTalk sync of this company is already running."))
        try:
            size = int(self.env["ir.config_parameter"].sudo().get_param("canteen_dingtalk.page_size", "100"))
            departments = client.department_tree(ROOT_DEPT)
            users = {}
            for department in departments:
                for user in client.department_users(department["dept_id"], size=size):
                    users.setdefault(user["userid"], user)
        except DingTalkError as error:
            summary["log"].append(self.env._("DingTalk could not be read: %(error)s", error=error))
            return self._finish(company, trigger, started, summary, client, failed=True)
        dept_map = self._apply_departments(company, departments, summary)
        self._apply_users(company, list(users.values()), dept_map, summary)
        self._resign_missing(company, set(users), summary)
        self._archive_missing_departments(company, {str(d["dept_id"]) for d in departments}, summary)
        return self._finish(company, trigger, started, summary, client)

    def _new_summary(self):
        keys = [
            "departments_created",
            "departments_updated",
            "departments_archived",
            "employees_created",
            "employees_updated",
            "employees_resigned",
            "employees_rehired",
            "error_count",
        ]
        return {**dict.fromkeys(keys, 0), "log": []}

    def _finish(self, company, trigger, started, summary, client, *, failed=False, event_type=None):
        log = summary.pop("log")
        state = "failed" if failed else ("partial" if summary["error_count"] else "done")
        values = {
            **summary,
            "company_id": company.id,
            "user_id": self.env.uid if trigger == "manual" else False,
            "trigger": trigger,
            "event_type": event_type,
            "date_start": started,
            "date_end": fields.Datetime.now(),
            "state": state,
            "api_calls": client.calls if client else 0,
            "rate_limit_waits": client.waits if client else 0,
            "log": "\n".join(str(line) for line in log),
        }
        _logger.info("DingTalk sync of %s: %s", company.name, {k: v for k, v in values.items() if k != "log"})
        return self.create(values)

    # departments -------------------------------------------------------------------------------
    def _department_map(self, company):
        departments = (
            self.env["hr.department"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", company.id), ("dingtalk_dept_id", "!=", False)])
        )
        return {d.dingtalk_dept_id: d for d in departments}

    def _apply_departments(self, company, departments, summary):
        """Create, rename, move and restore departments, parents first; codes follow the tree."""
        dept_map = self._department_map(company)
        for data in departments:
            self._apply_department(company, data, dept_map, summary)
        return dept_map

    def _apply_department(self, company, data, dept_map, summary):
        Department = self.env["hr.department"].sudo()
        key = str(data["dept_id"])
        parent = dept_map.get(str(data["parent_id"])) if data.get("parent_id") else Department
        department = dept_map.get(key)
        if not department:
            dept_map[key] = Department.create(
                {
                    "name": data["name"],
                    "parent_id": parent.id,
                    "company_id": company.id,
                    "dingtalk_dept_id": key,
                }
            )
            summary["departments_created"] += 1
            return dept_map[key]
        values = {}
        if department.name != data["name"]:
            values["name"] = data["name"]
        if department.parent_id != parent:
            values["parent_id"] = parent.id
        if not department.active:
            values["active"] = True
        # A moved department, or one whose parent was recoded, takes a code under its parent.
        recode = not self._code_fits(department.code, parent)
        if values or recode:
            department.write(dict(values, code=False) if recode else values)
            if recode:
                department.code = department._next_free_code()
            if values:
                summary["departments_updated"] += 1
        return department

    @api.model
    def _code_fits(self, code, parent):
        code = code or ""
        if not parent:
            return len(code) == 1
        return bool(parent.code) and code.startswith(parent.code) and len(code) == len(parent.code) + 2

    def _archive_missing_departments(self, company, present, summary):
        gone = [d for key, d in self._department_map(company).items() if key not in present and d.active]
        for department in sorted(gone, key=lambda d: -len(d.code or "")):
            self._archive_department(department, summary)

    def _archive_department(self, department, summary):
        try:
            with self.env.cr.savepoint():
                department.action_archive()
            summary["departments_archived"] += 1
        except (UserError, ValueError) as error:
            summary["error_count"] += 1
            summary["log"].append(f"{department.display_name}: {error}")

    # people ------------------------------------------------------------------------------------
    def _employee_map(self, company):
        employees = (
            self.env["hr.employee"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", company.id), ("dingtalk_userid", "!=", False)])
        )
        return {e.dingtalk_userid: e for e in employees}

    def _apply_users(self, company, users, dept_map, summary):
        """Update known people, link people imported before by their number, then create the
        new ones in one batch."""
        employees = self._employee_map(company)
        Employee = self._employee_model()
        numbers = {
            row["employee_no"]: row["id"]
            for row in Employee.search_read(
                [("company_id", "=", company.id), ("employee_no", "!=", False)], ["employee_no"]
            )
        }
        linked = {e.id for e in employees.values()}
        to_create = []
        for user in users:
            try:
                with self.env.cr.savepoint():
                    values = self._apply_user(company, user, dept_map, employees, numbers, linked, summary)
            except (UserError, ValueError) as error:
                summary["error_count"] += 1
                summary["log"].append(f"{user.get('userid')} {user.get('name')}: {error}")
                continue
            if values:
                to_create.append(values)
        if to_create:
            for employee in Employee.create(to_create):
                employees[employee.dingtalk_userid] = employee
            summary["employees_created"] += len(to_create)

    def _employee_model(self):
        return (
            self.env["hr.employee"]
            .sudo()
            .with_context(
                active_test=False,
                tracking_disable=True,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                mail_notrack=True,
            )
        )

    def _apply_user(self, company, user, dept_map, employees, numbers, linked, summary):  # noqa: PLR0917
        """Apply one DingTalk user to its employee; the values of a new employee otherwise."""
        userid = user["userid"]
        department = next(
            (dept_map[str(d)] for d in user.get("dept_id_list") or [] if str(d) in dept_map),
            self.env["hr.department"],
        )
        values = {
            "name": user.get("name") or userid,
            "mobile_phone": user.get("mobile") or False,
            "department_id": department.id,
        }
        job_number = (user.get("job_number") or "").strip()
        employee = employees.get(userid)
        holder = numbers.get(job_number) if job_number else None
        if not employee and holder and holder not in linked and holder != "new":
            # People imported before the sync are linked by their employee number.
            employee = self._employee_model().browse(holder)
            values["dingtalk_userid"] = userid
            employees[userid] = employee
            linked.add(holder)
        if holder and holder != (employee.id if employee else None):
            raise UserError(
                self.env._(
                    "Job number %(number)s is already another person's employee number.", number=job_number
                )
            )
        if job_number:
            values["employee_no"] = job_number
        if not employee:
            values.update(
                company_id=company.id,
                dingtalk_userid=userid,
                employee_no=job_number or self._new_employee_no(numbers),
            )
            numbers[values["employee_no"]] = "new"
            return values
        employee = employee.with_env(self._employee_model().env)
        changed = {
            name: value
            for name, value in values.items()
            if (employee[name].id if name == "department_id" else employee[name] or False) != value
        }
        if not employee.active:
            changed["active"] = True
        if changed:
            if "employee_no" in changed:
                numbers.pop(employee.employee_no, None)
                numbers[job_number] = employee.id
            employee.write(changed)
            summary["employees_updated"] += 1
        if employee.cardholder_state == "resigned":
            employee.action_rehire()
            summary["employees_rehired"] += 1
        return None

    def _new_employee_no(self, numbers):
        sequence = self.env["ir.sequence"].sudo()
        while True:
            number = sequence.next_by_code("canteen_dingtalk.employee_no")
            if number not in numbers:
                return number

    def _resign_missing(self, company, present, summary):
        leavers = self.env["hr.employee"].browse(
            [e.id for userid, e in self._employee_map(company).items() if userid not in present]
        )
        self._resign(leavers, summary)

    def _resign(self, employees, summary):
        """Leavers go to the resigned pool: their cards are blocked, their history kept."""
        for employee in employees.sudo().filtered(lambda e: e.cardholder_state == "active"):
            try:
                with self.env.cr.savepoint():
                    employee.action_freeze_cards()
                    employee._canteen_set_resigned()
                summary["employees_resigned"] += 1
            except (UserError, ValueError) as error:
                summary["error_count"] += 1
                summary["log"].append(f"{employee.name}: {error}")

    # events ------------------------------------------------------------------------------------
    @api.model
    def _handle_callback(self, company_id, signature, timestamp, nonce, encrypt):
        """Check and apply one DingTalk event; returns the encrypted reply. Raises CallbackError
        (and changes nothing) for a bad signature, owner key or stale timestamp."""
        company = self.env["res.company"].sudo().browse(company_id).exists()
        if not company or not (company.dingtalk_callback_token and company.dingtalk_aes_key):
            raise CallbackError("no callback configured for this company")
        crypto = DingTalkCrypto(
            company.dingtalk_callback_token, company.dingtalk_aes_key, company.dingtalk_app_key
        )
        crypto.check_signature(signature, timestamp, nonce, encrypt or "")
        try:
            sent = int(timestamp) / 1000
        except (TypeError, ValueError) as error:
            raise CallbackError("bad timestamp") from error
        if abs(time.time() - sent) > CALLBACK_MAX_AGE:
            raise CallbackError("stale timestamp")
        try:
            event = json.loads(crypto.decrypt(encrypt))
        except ValueError as error:
            raise CallbackError("the event is not JSON") from error
        event_type = event.get("EventType")
        if event_type in USER_EVENTS | DEPT_EVENTS:
            self.sudo()._apply_event(company, event_type, event)
        return crypto.reply("success", int(time.time() * 1000), nonce)

    def _apply_event(self, company, event_type, event):
        started = fields.Datetime.now()
        summary = self._new_summary()
        client = company._dingtalk_client()
        try:
            if event_type == "user_leave_org":
                employees = self._employee_map(company)
                leavers = [employees[u].id for u in event.get("UserId") or [] if u in employees]
                self._resign(self.env["hr.employee"].browse(leavers), summary)
            elif event_type in USER_EVENTS:
                dept_map = self._department_map(company)
                users = [client.get_user(userid) for userid in event.get("UserId") or []]
                self._apply_users(company, users, dept_map, summary)
            elif event_type == "org_dept_remove":
                dept_map = self._department_map(company)
                for dept_id in event.get("DeptId") or []:
                    if str(dept_id) in dept_map and dept_map[str(dept_id)].active:
                        self._archive_department(dept_map[str(dept_id)], summary)
            else:
                dept_map = self._department_map(company)
                for dept_id in event.get("DeptId") or []:
                    self._apply_department_chain(client, dept_id, company, dept_map, summary)
        except DingTalkError as error:
            summary["log"].append(self.env._("DingTalk could not be read: %(error)s", error=error))
            return self._finish(
                company, "event", started, summary, client, failed=True, event_type=event_type
            )
        return self._finish(company, "event", started, summary, client, event_type=event_type)

    def _apply_department_chain(self, client, dept_id, company, dept_map, summary):
        """Apply a department and, first, any of its parents not known yet; then recode the
        departments below it when it moved."""
        chain = [client.get_department(dept_id)]
        while chain[-1].get("parent_id") and str(chain[-1]["parent_id"]) not in dept_map:
            chain.append(client.get_department(chain[-1]["parent_id"]))
        if str(chain[-1]["dept_id"]) == str(ROOT_DEPT):
            chain[-1]["parent_id"] = None
        for data in reversed(chain):
            self._apply_department(company, data, dept_map, summary)
        department = dept_map[str(dept_id)]
        below = (
            self.env["hr.department"]
            .sudo()
            .with_context(active_test=False)
            .search([("id", "child_of", department.id), ("id", "!=", department.id)])
        )
        for child in below.sorted(lambda d: len(d.parent_path)):
            if not self._code_fits(child.code, child.parent_id):
                child.write({"code": False})
                child.code = child._next_free_code()
