from . import test_callback
from . import test_messages
from . import test_settings
from . import test_sync
from . import test_opt_out
