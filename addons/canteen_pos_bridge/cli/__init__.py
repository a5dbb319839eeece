from . import bridge
