from . import access
from . import face_engine
from . import face_files
from . import face_match
