from odoo import api, models
from odoo.exceptions import AccessError


class CanteenProtectedMixin(models.AbstractModel):
    """A record of money, state or audit: read-only to users through the ORM.

    Its access lines grant no write, create or unlink to any group, and these overrides refuse
    them to anyone but the superuser as well, whatever the context. Its changes happen in model
    methods that check the caller (tools/access.py) and then write with `sudo()`. Fields a user
    may legitimately edit through the ORM (a note, say) are listed in `_canteen_user_fields`;
    the model's access lines then grant write to the groups concerned.
    """

    _name = "canteen.protected.mixin"
    _description = "Money, State or Audit Record"

    _canteen_user_fields = frozenset()

    def _canteen_refuse(self, operation):
        raise AccessError(
            self.env._(
                "%(model)s records change only through their operations (%(operation)s refused).",
                model=self._description,
                operation=operation,
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._canteen_refuse("create")
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and set(vals) - self._canteen_user_fields:
            self._canteen_refuse("write")
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self._canteen_refuse("unlink")
        return super().unlink()
