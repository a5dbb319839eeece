"""Lint is part of the test run: a ruff or pylint-odoo finding fails it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_TREES = ["addons", "scripts", "tests"]


def _run(*cmd):
    proc = subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_ruff_check():
    code, output = _run("ruff", "check", *PYTHON_TREES)
    assert code == 0, output


def test_ruff_format():
    code, output = _run("ruff", "format", "--check", *PYTHON_TREES)
    assert code == 0, output


def test_pylint_odoo():
    addons = sorted(str(p.parent.relative_to(ROOT)) for p in ROOT.glob("addons/*/__manifest__.py"))
    code, output = _run("pylint", "--rcfile=.pylintrc", *addons)
    assert code == 0, output
