from . import test_list_change_delivery
from . import test_terminal
