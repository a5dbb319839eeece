from . import canteen_face_enrol_wizard
from . import canteen_face_import_line
from . import canteen_face_import_wizard
