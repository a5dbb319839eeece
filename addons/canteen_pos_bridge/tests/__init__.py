from . import test_cashier_and_terminal_admin
from . import test_list_change_delivery
from . import test_terminal
from . import test_charge_rules
from . import test_sql_unit
from . import test_kiosk_topup
from . import test_cards_across_companies
from . import test_served_lists
