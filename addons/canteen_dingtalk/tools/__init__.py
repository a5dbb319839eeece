from . import client
from . import crypto
