from . import (
    canteen_approval_refuse_wizard,
    canteen_approval_wizard_mixin,
    canteen_correction_wizard,
    canteen_manual_entry_wizard,
    canteen_refund_import_wizard,
    canteen_subsidy_grant_wizard,
    canteen_topup_import_wizard,
    canteen_topup_wizard,
)
