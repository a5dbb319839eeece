from . import canteen_card_issue_wizard
from . import canteen_clearing_wizard
from . import canteen_subsidy_grant_wizard
from . import canteen_topup_wizard
