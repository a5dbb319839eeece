from . import test_department_code
from . import test_demo_group
