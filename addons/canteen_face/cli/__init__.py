from . import face_import
