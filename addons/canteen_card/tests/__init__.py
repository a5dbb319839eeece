from . import test_access
from . import test_clearing
from . import test_demo_group
from . import test_department_code
from . import test_ledger
from . import test_operations
from . import test_card_desk
from . import test_imports
