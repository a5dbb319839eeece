from odoo import Command, fields, models


class CanteenApprovalWizardMixin(models.AbstractModel):
    """A desk wizard whose posting may wait for an approval. Its fields named in
    `_canteen_approval_fields` are stored in the request; the approved request makes the wizard
    again from them and calls `_canteen_approval_post`, the wizard's own posting method."""

    _name = "canteen.approval.wizard.mixin"
    _description = "Desk Operation Subject to Approval"

    _canteen_approval_fields = ()

    def _canteen_approval_values(self, **overrides):
        """The wizard's values as JSON: what creates the same wizard again."""
        values = {}
        for name in self._canteen_approval_fields:
            field, value = self._fields[name], self[name]
            if field.type == "many2many":
                values[name] = [Command.set(value.ids)]
            elif field.type == "many2one":
                values[name] = value.id
            elif field.type == "date":
                values[name] = fields.Date.to_string(value) if value else False
            elif field.type == "datetime":
                values[name] = fields.Datetime.to_string(value) if value else False
            else:
                values[name] = value
        values.update(overrides)
        return values

    def _canteen_approval_draft(self, kind, amount, employees, companies, summary, **kwargs):
        """The approval request when the companies ask for one for `amount`, else empty."""
        values = self._canteen_approval_values(**kwargs.pop("overrides", {}))
        return self.env["canteen.approval.request"]._draft(
            kind, amount, employees, companies, summary=summary, values=values, **kwargs
        )

    def _canteen_approval_post(self, request):
        """Post as the wizard posts today, `request` being approved; returns a message to keep,
        or False."""
        self._confirm()
        return False
