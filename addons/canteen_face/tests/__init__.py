from . import test_canteen_face
from . import test_face_engine
from . import test_face_match
from . import test_face_sync
from . import test_face_served
