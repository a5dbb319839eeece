from . import test_approvals
