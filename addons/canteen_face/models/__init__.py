from . import canteen_face
from . import canteen_face_sync
from . import canteen_terminal
from . import hr_employee
from . import res_company
from . import res_config_settings
