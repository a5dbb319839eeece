from . import (
    canteen_approval_refuse_wizard,
    canteen_approval_wizard_mixin,
    canteen_correction_wizard,
    canteen_import_mixin,
    canteen_manual_entry_wizard,
    canteen_subsidy_grant_wizard,
    canteen_topup_wizard,
)
