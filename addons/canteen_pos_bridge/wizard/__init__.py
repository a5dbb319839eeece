from . import canteen_cashier_wizard
from . import canteen_terminal_secret_wizard
