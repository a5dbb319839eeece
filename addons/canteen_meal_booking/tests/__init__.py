from . import test_canteen
