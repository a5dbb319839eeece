from . import canteen_terminal
