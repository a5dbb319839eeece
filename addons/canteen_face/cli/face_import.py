"""`odoo canteen-face-import`: enrol a folder or a zip of face photos named by employee number.

    odoo --addons-path=addons canteen-face-import -c odoo.conf -d DB PATH [--company ID]
         [--commit-every N]

Prints one line per refused file (file, tab, reason) on standard output, progress on standard
error, then a summary. Exits 0 when it ran, whatever was refused; 2 for wrong arguments.
Each photo is committed in batches, so an interrupted run keeps what it enrolled.
"""

import argparse
import os
import sys
import time

from odoo.cli import Command
from odoo.tools import config


class CanteenFaceImport(Command):
    """Enrol face photos named by employee number from a folder or a zip"""

    name = "canteen-face-import"

    def run(self, cmdargs):
        parser = argparse.ArgumentParser(
            prog="odoo canteen-face-import",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("path", help="a folder of photos or a zip file")
        parser.add_argument("-c", "--config", help="Odoo configuration file")
        parser.add_argument("-d", "--database", help="database (default: db_name of the config)")
        parser.add_argument(
            "--company", type=int, help="look people up in this company and its branches (default: all)"
        )
        parser.add_argument("--commit-every", type=int, default=20, help="photos per transaction (20)")
        parser.add_argument("--db_host")
        parser.add_argument("--db_port")
        parser.add_argument("--db_user")
        parser.add_argument("--db_password")
        args = parser.parse_args(cmdargs)
        odoo_args = [f"--config={args.config}"] if args.config else []
        for option in ("db_host", "db_port", "db_user", "db_password"):
            if getattr(args, option):
                odoo_args.append(f"--{option}={getattr(args, option)}")
        config.parse_config(odoo_args, setup_logging=True)
        database = args.database or config["db_name"]
        if not database:
            parser.error("give the database with -d")
        if not os.path.exists(args.path):
            parser.error(f"{args.path}: no such folder or file")
        summary = run_import(
            database, args.path, company_id=args.company, commit_every=max(1, args.commit_every)
        )
        sys.stdout.write(summary + "\n")
        sys.exit(0)


def run_import(database, path, *, company_id=None, commit_every=20, out=None, err=None):
    """Enrol the photos of `path`; returns the summary line. Used by the command and tests."""
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    from ..tools import face_engine, face_files

    out = out or sys.stdout
    err = err or sys.stderr
    registry = Registry(database)
    total = face_files.count_path(path)
    face_engine.warm_up()
    enrolled = refused = done = 0
    started = time.monotonic()
    files = face_files.iter_path(path)
    while True:
        batch = [item for _index, item in zip(range(commit_every), files, strict=False)]
        if not batch:
            break
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            companies = env["res.company"].browse(company_id) if company_id else env["res.company"].search([])
            results = env["canteen.face"]._import_photos(batch, companies, "command")
            # A command's own transactions: each batch of photos kept when the next one fails.
            cr.commit()  # pylint: disable=invalid-commit
        for result in results:
            if result["ok"]:
                enrolled += 1
            else:
                refused += 1
                out.write(f"{result['filename']}\t{result['message']}\n")
                out.flush()
        done += len(batch)
        elapsed = time.monotonic() - started
        err.write(f"{done}/{total} photos, {done / elapsed if elapsed else 0:.1f}/s\n")
        err.flush()
    elapsed = time.monotonic() - started
    return f"{done} files: {enrolled} enrolled, {refused} refused in {elapsed:.1f} s"
