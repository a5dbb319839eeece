# Tables first, in dependency order; the reconciliation SQL view reads them, so it comes last.
from . import res_company
from . import res_config_settings
from . import account_chart_template
from . import canteen_company_shared_mixin
from . import hr_department
from . import hr_employee
from . import canteen_card_type
from . import canteen_rule_group
from . import canteen_card
from . import canteen_wallet
from . import canteen_merchant
from . import canteen_operation
from . import canteen_clearing
from . import canteen_ledger_entry
from . import canteen_ledger
from . import canteen_reconciliation
