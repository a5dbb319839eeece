"""Shared fixtures: the Odoo registry of the database `make test` installed the addons in."""

import contextlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def odoo_registry():
    dbname = os.environ.get("CANTEEN_TEST_DB")
    if not dbname:
        pytest.skip("needs the database installed by `make test` (CANTEEN_TEST_DB)")
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [
            "-c",
            str(ROOT / "odoo.conf"),
            "--addons-path",
            str(ROOT / "addons"),
            "--db_host",
            os.environ["CANTEEN_DB_HOST"],
            "--db_port",
            os.environ["CANTEEN_DB_PORT"],
            "--db_user",
            os.environ["CANTEEN_DB_USER"],
            "--db_password",
            os.environ["CANTEEN_DB_PASSWORD"],
            "--log-level",
            "warn",
        ],
        setup_logging=False,
    )
    return Registry(dbname)


@contextlib.contextmanager
def environment(registry):
    """A superuser environment on a cursor of its own; commit what other connections must see."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


@pytest.fixture
def odoo_env(odoo_registry):
    with environment(odoo_registry) as env:
        yield env
