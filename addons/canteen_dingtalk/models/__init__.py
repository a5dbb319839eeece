from . import res_company
from . import res_config_settings
from . import res_users
from . import hr_department
from . import hr_employee
from . import canteen_dingtalk_sync_run
from . import canteen_dingtalk_message
