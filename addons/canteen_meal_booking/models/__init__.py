from . import canteen_canteen
