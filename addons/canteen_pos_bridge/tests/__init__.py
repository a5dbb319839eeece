from . import test_terminal
