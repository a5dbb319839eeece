from . import canteen_canteen
from . import canteen_canteen_meal
from . import canteen_dish_category
from . import canteen_dish_tag
from . import canteen_dish
from . import canteen_menu
from . import canteen_menu_line
from . import canteen_booking
