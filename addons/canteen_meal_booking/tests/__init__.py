from . import test_canteen
from . import test_booking
from . import test_booked_served
from . import test_portal
from . import test_terminal
from . import test_payment
from . import test_tours
from . import test_bill_month
