from . import charge_engine
