from . import canteen_terminal
from . import canteen_ledger_entry
