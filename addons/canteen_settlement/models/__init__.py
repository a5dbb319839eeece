from . import res_company
from . import canteen_merchant
from . import canteen_clearing
from . import canteen_settlement_line
from . import canteen_settlement
