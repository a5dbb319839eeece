from odoo import api, fields, models
from odoo.exceptions import UserError

# Fields of a journal entry that carry the books: refused on an entry the canteen ledger posted.
BOOKED_MOVE_FIELDS = frozenset(
    {
        "state",
        "date",
        "journal_id",
        "company_id",
        "currency_id",
        "move_type",
        "name",
        "ref",
        "line_ids",
        "invoice_line_ids",
        "partner_id",
        "auto_post",
        "canteen_locked",
    }
)


class AccountMove(models.Model):
    """Journal entries posted by the canteen ledger (desk operations, merchant clearings) are
    final: they cannot be reset to draft, cancelled, edited or deleted, whatever the journal's
    settings; a correction is a reversal or a new operation.

    Odoo's "secure posted entries with hash" journal setting would give the same for the wallet
    journals only, but its hash is written with the poster's own rights (`sudo(False)`), so a
    card operator without accounting rights could no longer post a top-up: hence this guard,
    which also covers the cash and bank journals of top-ups and refunds."""

    _inherit = "account.move"

    canteen_locked = fields.Boolean(
        string="Posted by the Canteen Ledger",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Booked by a card desk operation or a merchant clearing: it cannot be reset to draft, "
        "edited or deleted; correct it with a reversal or a new operation.",
    )

    @api.depends("restrict_mode_hash_table", "state", "inalterable_hash", "canteen_locked")
    def _compute_show_reset_to_draft_button(self):  # pylint: disable=missing-return
        super()._compute_show_reset_to_draft_button()
        self.filtered("canteen_locked").show_reset_to_draft_button = False

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get("canteen_locked") for vals in vals_list):
            raise UserError(self.env._("Only the canteen ledger posts its journal entries."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and BOOKED_MOVE_FIELDS.intersection(vals):
            self._canteen_check_alterable()
        return super().write(vals)

    def _check_draftable(self):
        self._canteen_check_alterable()
        return super()._check_draftable()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_canteen_locked(self):
        self._canteen_check_alterable()

    def _canteen_check_alterable(self):
        """Refuse any change to an entry the canteen ledger posted (only the superuser passes)."""
        if self.env.su:
            return
        locked = self.sudo().filtered("canteen_locked")
        if locked:
            raise UserError(
                self.env._(
                    "%(entries)s was posted by the canteen ledger: it cannot be reset to draft, "
                    "changed or deleted. Correct it with a reversal (Reverse Entry) or a new card "
                    "desk operation.",
                    entries=", ".join(locked.mapped("display_name")),
                )
            )
