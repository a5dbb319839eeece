"""How the desk's server code shows things to the operator: times in the user's time zone and
Odoo's formatting (as the web client shows datetime fields), and a notification that confirms
what a button did, then closes the dialog and reloads the record behind it."""

from odoo.tools import format_datetime


def user_datetime(env, value):
    """A UTC datetime as the user reads it on screen: their time zone, their language's format."""
    return format_datetime(env, value, tz=env.user.tz or "UTC", dt_format=False) if value else ""


def notification(message, title=None, kind="success"):
    """The client action that shows `message`, then closes a dialog and reloads the record."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": title,
            "message": message,
            "type": kind,
            "sticky": False,
            "next": {"type": "ir.actions.act_window_close"},
        },
    }
