from . import canteen_face
from . import hr_employee
from . import res_company
from . import res_config_settings
