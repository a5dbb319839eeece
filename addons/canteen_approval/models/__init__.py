from . import canteen_approval_request, canteen_operation_log, res_company, res_config_settings
