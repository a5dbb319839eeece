"""`odoo canteen-face-import`: enrol a folder or a zip of face photos named by employee number.

    odoo --addons-path=addons canteen-face-import -c odoo.conf -d DB PATH [--company ID]
         [--commit-every N] [--workers N]

Prints one line per refused file (file, tab, reason) on standard output, progress on standard
error, then a summary. Exits 0 when it ran, whatever was refused; 2 for wrong arguments.
Each photo is committed in batches, so an interrupted run keeps what it enrolled.

The photos are analysed (decoding, detection, landmarks, embedding) and their JPEGs made (the
stored photo, and the device photo in each size the companies ask for) by worker processes, one
per processor by default, a batch ahead of the one being recorded; the command's own process
judges each analysis with the limits of the person's company and records the batch (one create
of its faces, one of their terminals' commands and sync lines). `--workers 0` analyses in the
command's process.
"""

import argparse
import concurrent.futures
import multiprocessing
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
        parser.add_argument(
            "--workers",
            type=int,
            default=min(4, os.cpu_count() or 1),
            help="processes that analyse photos (default: one per processor, at most 4; 0: none)",
        )
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
            database,
            args.path,
            company_id=args.company,
            commit_every=max(1, args.commit_every),
            workers=max(0, args.workers),
        )
        sys.stdout.write(summary + "\n")
        sys.exit(0)


def _analyse(data, device_sizes):
    """A photo's analysis with face_engine.MEASURE and its JPEGs (face_engine.prepare), in a
    worker process (None: no bytes)."""
    from ..tools import face_engine

    return None if data is None else face_engine.prepare(data, device_sizes)


def _device_sizes(env):
    """The device photo sizes of the companies: (width, height, max bytes), each once."""
    companies = env["res.company"].search([])  # pylint: disable=no-search-all
    return sorted(
        {
            (c.canteen_face_device_width, c.canteen_face_device_height, c.canteen_face_device_max_kb * 1024)
            for c in companies
        }
    )


def _start_workers(workers):
    """The pool of worker processes, forked before any database connection is opened, with
    the models loaded in each; None without workers."""
    if not workers:
        return None
    from ..tools import face_engine

    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker
    )
    for _n in range(workers):
        pool.submit(face_engine.warm_up)
    return pool


def _start_worker():
    """In each worker process, first: numpy's matrix products (the embedding network) on one
    thread, each worker being one of the processes that share the cores."""
    from ..tools import face_match

    face_match.single_thread_blas()


def run_import(database, path, *, company_id=None, commit_every=20, workers=0, out=None, err=None):
    """Enrol the photos of `path`; returns the summary line. Used by the command and tests."""
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    from ..tools import face_engine, face_files

    out = out or sys.stdout
    err = err or sys.stderr
    pool = _start_workers(workers)
    if pool is None:
        face_engine.warm_up()
    try:
        registry = Registry(database)
        with registry.cursor() as cr:
            device_sizes = _device_sizes(api.Environment(cr, SUPERUSER_ID, {}))
        total = face_files.count_path(path)
        enrolled = refused = done = 0
        started = time.monotonic()
        files = face_files.iter_path(path)

        def next_batch():
            batch = [item for _index, item in zip(range(commit_every), files, strict=False)]
            return batch, [
                pool.submit(_analyse, data, device_sizes) for _name, data in batch
            ] if pool else None

        batch, analyses = next_batch()
        while batch:
            # The next batch is analysed while this one is recorded.
            following = next_batch()
            measured = [analysis.result() for analysis in analyses] if analyses else None
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                companies = (
                    env["res.company"].browse(company_id) if company_id else env["res.company"].search([])
                )
                results = env["canteen.face"]._import_photos(batch, companies, "command", measured)
                # A command's own transactions: each batch of photos kept when the next one fails.
                cr.commit()  # pylint: disable=invalid-commit
            enrolled, refused = _report(results, enrolled, refused, out)
            done += len(batch)
            elapsed = time.monotonic() - started
            err.write(f"{done}/{total} photos, {done / elapsed if elapsed else 0:.1f}/s\n")
            err.flush()
            batch, analyses = following
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    elapsed = time.monotonic() - started
    return f"{done} files: {enrolled} enrolled, {refused} refused in {elapsed:.1f} s"


def _report(results, enrolled, refused, out):
    """Count the results and print each refused file."""
    for result in results:
        if result["ok"]:
            enrolled += 1
        else:
            refused += 1
            out.write(f"{result['filename']}\t{result['message']}\n")
            out.flush()
    return enrolled, refused
