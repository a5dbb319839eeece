from . import face_engine
