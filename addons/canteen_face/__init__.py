from . import cli
from . import models
from . import tools
from . import wizard
