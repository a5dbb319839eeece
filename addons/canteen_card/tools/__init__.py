from . import ledger_core
