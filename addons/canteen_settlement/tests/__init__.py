from . import test_settlement
