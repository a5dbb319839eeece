from . import test_face_engine
