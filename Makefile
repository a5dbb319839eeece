# Thin wrappers: everything happens in scripts/devstack.py.
PYTHON ?= python3

.PHONY: run test stop lint i18n

run:  ## start Odoo with every canteen addon and demo data on http://localhost:8069
	$(PYTHON) scripts/devstack.py run

test:  ## install every canteen addon in a throwaway database, run Odoo tests and tests/
	$(PYTHON) scripts/devstack.py test

stop:  ## stop the private PostgreSQL started by `make run`
	$(PYTHON) scripts/devstack.py stop

lint:  ## ruff and pylint-odoo on our code
	$(PYTHON) -m pytest tests/test_lint.py -q

i18n:  ## export the addons' terms and merge them into each i18n/zh_CN.po
	$(PYTHON) scripts/devstack.py i18n
