"""What the tests of the command stream share: the delivery's statements run on Odoo's cursor,
and a terminal's poll and acknowledgement as the bridge makes them."""

from ..tools import delivery, delivery_sql


class CursorUnit:
    """The delivery's statements on Odoo's cursor (the bridge sends them on its own)."""

    def __init__(self, cr):
        self.cr = cr

    def execute(self, *statements):
        for query, params in statements:
            self.cr.execute(query, params)
        return self.cr


class DeliveryMixin:
    """A terminal's side of the command stream, for test cases."""

    def number(self):
        """What the commit does: give the transaction's new rows their positions."""
        self.env.flush_all()
        self.env.cr.execute(delivery_sql.NUMBER_NOW)

    def poll(self, terminal, cursor):
        """One poll of `terminal` from `cursor`: the bridge's answer."""
        self.env.flush_all()
        answer = delivery.take(CursorUnit(self.env.cr), terminal.id, terminal.company_id.parent_path, cursor)
        self.env.invalidate_all()
        return answer

    def ack(self, terminal, results):
        """The terminal's results for commands it received."""
        delivery.ack(CursorUnit(self.env.cr), terminal.id, results)
        self.env.invalidate_all()
