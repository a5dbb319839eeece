#!/usr/bin/env python3
"""Development stack of the canteen card suite: `run` and `test`.

`make run` and `make test` are thin wrappers over this script. It needs only the
standard library until it has checked that Odoo 18 is importable and installed
the project's missing requirements.
"""

import argparse
import configparser
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
ODOO_CONF = ROOT / "odoo.conf"
ADDONS = ROOT / "addons"
RUN_DB = "canteen"

ODOO_MISSING = """\
Odoo 18 cannot be imported by {python}.
Install Odoo 18 (Community) for this Python first, the official ways being:
  * the source tarball from the Odoo nightly server (18.0, 'src' build):
      tar xzf odoo_18.0.latest.tar.gz && cd odoo-18.0.post*
      pip install -r requirements.txt   # skip python-ldap if you do not need LDAP
      pip install -e .
  * or the official Docker image `odoo:18` (see docker/ for our stack).
Then check with: {python} -c "import odoo" && odoo --version
"""


def say(msg):
    print(f"[canteen] {msg}", flush=True)


# --------------------------------------------------------------------------
# prerequisites
# --------------------------------------------------------------------------
def ensure_odoo():
    try:
        import odoo
        from odoo import release
    except ImportError:
        sys.stderr.write(ODOO_MISSING.format(python=sys.executable))
        sys.exit(2)
    if release.version_info[0] != 18:
        sys.stderr.write(f"Odoo 18 is required, found {release.version}.\n")
        sys.exit(2)
    say(f"Odoo {release.version} from {Path(odoo.__file__).parent}")


def missing_requirements():
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    missing = []
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            missing.append(line)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(line)
    return missing


def ensure_requirements():
    missing = missing_requirements()
    if not missing:
        say("Python requirements: all present")
        return
    say(f"Installing missing Python requirements: {', '.join(missing)}")
    # Hold every installed distribution at its version so that nothing Odoo 18
    # pins is upgraded; some old sdists need setuptools<70 to build.
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    hold = LOCAL / "pip-hold.txt"
    LOCAL.mkdir(exist_ok=True)
    hold.write_text(
        "setuptools<70\n"
        + "\n".join(line for line in frozen if "==" in line and not line.lower().startswith("setuptools=="))
        + "\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--progress-bar", "off", "-c", str(hold), *missing],
        check=True,
        env={**os.environ, "PIP_CONSTRAINT": str(hold)},
    )


# Debian packages the tests and reports need: a browser for the portal tours,
# wkhtmltopdf for PDF reports, CJK fonts so Chinese renders in them, poppler
# to turn a PDF into a picture in tests. (command or file that proves it, package)
SYSTEM_PACKAGES = (
    ("chromium", "chromium"),
    ("wkhtmltopdf", "wkhtmltopdf"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "fonts-noto-cjk"),
    ("pdftoppm", "poppler-utils"),
)


def missing_system_packages():
    missing = []
    for proof, package in SYSTEM_PACKAGES:
        found = Path(proof).exists() if proof.startswith("/") else shutil.which(proof)
        if not found:
            missing.append(package)
    return missing


def ensure_system_packages():
    """Install the Debian packages above when missing (as root with apt-get), else say how."""
    missing = missing_system_packages()
    if not missing:
        say("System packages: all present")
        return
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or not apt:
        say(
            f"Missing system packages {', '.join(missing)}: install them "
            f"(`sudo apt-get install {' '.join(missing)}`); "
            "browser tours are skipped and PDFs fail without them"
        )
        return
    say(f"Installing system packages: {', '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "-qq", "update"], check=True, env=env)
    subprocess.run([apt, "-qq", "install", "-y", "--no-install-recommends", *missing], check=True, env=env)


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
def db_settings():
    parser = configparser.ConfigParser()
    parser.read(ODOO_CONF)
    opts = parser["options"]
    return {
        "host": os.environ.get("PGHOST") or opts.get("db_host", "localhost"),
        "port": int(os.environ.get("PGPORT") or opts.get("db_port", "5432")),
        "user": os.environ.get("PGUSER") or opts.get("db_user", "odoo"),
        "password": os.environ.get("PGPASSWORD") or opts.get("db_password", "odoo"),
    }


def pg_reachable(db):
    import psycopg2

    try:
        psycopg2.connect(
            dbname="postgres",
            connect_timeout=3,
            host=db["host"],
            port=db["port"],
            user=db["user"],
            password=db["password"],
        ).close()
        return True
    except psycopg2.OperationalError:
        return False


def port_in_use(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def as_postgres_user(cmd):
    """Run a PostgreSQL server binary; root may not run it, so it runs as `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def clusters_folder():
    """Where private clusters live: the project's git-ignored .local/, unless the server's user
    (`postgres`, when we run as root) cannot enter it, as in a clone in root's home folder or in
    a `mktemp -d` folder; then a folder of the system's temporary space named after the checkout."""
    LOCAL.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        return LOCAL
    reachable = subprocess.run(as_postgres_user(["test", "-x", str(LOCAL)]), cwd="/", check=False)
    if reachable.returncode == 0:
        return LOCAL
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]  # noqa: S324 - a folder name
    folder = Path(tempfile.gettempdir()) / f"canteen-{digest}"
    folder.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(folder, "postgres", "postgres")
    return folder


class PrivateCluster:
    """A PostgreSQL cluster in a git-ignored folder of the project (see clusters_folder)."""

    def __init__(self, name, db, durable):
        self.dir = clusters_folder() / name
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.db = db
        self.durable = durable

    def _prepare(self):
        if (self.data / "PG_VERSION").exists():
            return
        say(f"Creating a private PostgreSQL cluster in {self.data}")
        self.dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.db["password"] + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(  # from /: the postgres user may not enter the checkout
            cwd="/",
            args=as_postgres_user(
                [
                    "initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    self.db["user"],
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        pwfile.unlink()

    def start(self):
        self._prepare()
        if port_in_use(self.db["port"]):
            sys.exit(
                f"Port {self.db['port']} is taken by a server that refuses the credentials of "
                f"odoo.conf; set PGPORT to a free port or fix odoo.conf."
            )
        options = [
            f"-p {self.db['port']}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.dir}",
            "-c max_connections=300",
        ]
        if self.durable:
            # Sized as a production server would be; fsync, synchronous_commit and full-page
            # writes stay on. Checkpoints spread over 15 minutes instead of crowding a benchmark.
            options += ["-c shared_buffers=512MB", "-c max_wal_size=4GB", "-c checkpoint_timeout=15min"]
        else:
            # A throwaway test cluster may trade durability for speed; benchmarks never do.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        kind = "durable" if self.durable else "throwaway"
        say(f"Starting PostgreSQL on 127.0.0.1:{self.db['port']} ({kind})")
        subprocess.run(  # from /: the postgres user may not enter the checkout
            cwd="/",
            args=as_postgres_user(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self, remove=False):
        subprocess.run(  # from /: the postgres user may not enter the checkout
            cwd="/",
            args=as_postgres_user(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def ensure_postgres(cluster_name, durable):
    """Use a reachable PostgreSQL, else start a private cluster; return it (or None)."""
    db = db_settings()
    if pg_reachable(db):
        say(f"Using the PostgreSQL reachable at {db['host']}:{db['port']} as {db['user']}")
        return db, None
    cluster = PrivateCluster(cluster_name, db, durable)
    cluster.start()
    return db, cluster


def require_durability(db):
    """Benchmarks run on PostgreSQL's durable defaults; refuse a server that relaxes them."""
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres", host=db["host"], port=db["port"], user=db["user"], password=db["password"]
    )
    with conn.cursor() as cr:
        cr.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
        fsync, synchronous_commit = cr.fetchone()
    conn.close()
    say(f"PostgreSQL durability: fsync={fsync} synchronous_commit={synchronous_commit}")
    if fsync != "on" or synchronous_commit != "on":
        sys.exit("Benchmarks run with fsync and synchronous_commit on; this server relaxes them.")


def drop_database(db, name):
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres", host=db["host"], port=db["port"], user=db["user"], password=db["password"]
    )
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def database_exists(db, name):
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres", host=db["host"], port=db["port"], user=db["user"], password=db["password"]
    )
    with conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = bool(cr.fetchone())
    conn.close()
    return found


# --------------------------------------------------------------------------
# Odoo
# --------------------------------------------------------------------------
def canteen_addons():
    return sorted(p.name for p in ADDONS.iterdir() if (p / "__manifest__.py").exists())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def db_options(db):
    return [
        "--db_host",
        db["host"],
        "--db_port",
        str(db["port"]),
        "--db_user",
        db["user"],
        "--db_password",
        db["password"],
    ]


def odoo_cmd(db, dbname, *extra):
    return [
        sys.executable,
        "-m",
        "odoo",
        "-c",
        str(ODOO_CONF),
        "-d",
        dbname,
        *db_options(db),
        "--addons-path",
        str(ADDONS),
        *extra,
    ]


def install_database(db, dbname, modules):
    """A fresh database with these addons and no demo data (benchmarks)."""
    drop_database(db, dbname)
    say(f"Installing {modules} in {dbname!r}")
    subprocess.run(
        odoo_cmd(
            db,
            dbname,
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ),
        check=True,
        cwd=ROOT,
    )


def bench_cardholders(env, count, number):
    """Benchmark setup: `count` cardholders of the main company with a card each;
    `number(i)` gives the i-th employee number."""
    company = env.ref("base.main_company")
    employees = env["hr.employee"].create(
        [{"name": f"Bench {i:05d}", "employee_no": number(i), "company_id": company.id} for i in range(count)]
    )
    env["canteen.card"].create([{"employee_id": e.id, "uid": f"BENCH{e.id:08d}"} for e in employees])
    return employees


def open_registry(db, dbname):
    """The Odoo registry of a database, in this process (Odoo's configuration is parsed once)."""
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        ["-c", str(ODOO_CONF), "--addons-path", str(ADDONS), *db_options(db), "--log-level", "warn"],
        setup_logging=True,
    )
    return Registry(dbname)


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------
def cmd_run(args):
    ensure_odoo()
    ensure_requirements()
    ensure_system_packages()
    db, _cluster = ensure_postgres("pg", durable=True)
    modules = ",".join(canteen_addons())
    extra = ["--http-port", str(args.port)]
    if database_exists(db, args.database):
        say(f"Reusing database {args.database!r}")
    else:
        say(f"Creating database {args.database!r} with {modules} and demo data (a few minutes)")
        subprocess.run(
            odoo_cmd(
                db,
                args.database,
                "-i",
                modules,
                "--stop-after-init",
                "--without-demo=",
                "--log-level=warn",
                *extra,
            ),
            check=True,
            cwd=ROOT,
        )
    # A database created from the command line has the admin user with password admin.
    bridge = start_bridge(db, args.database)
    say(f"Odoo on http://localhost:{args.port}  (login: admin, password: admin); Ctrl+C stops both")
    try:
        subprocess.run(odoo_cmd(db, args.database, *extra), cwd=ROOT, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        bridge.terminate()
        bridge.wait(30)


def start_bridge(db, dbname):
    """The terminal bridge of canteen_pos_bridge, on the port of odoo.conf (8070)."""
    command = [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={ADDONS}",
        "canteen-bridge",
        "-c",
        str(ODOO_CONF),
        "-d",
        dbname,
        *db_options(db),
    ]
    bridge = subprocess.Popen(command, cwd=ROOT)
    say("Terminal bridge on http://127.0.0.1:8070/api/v1/health")
    return bridge


# --------------------------------------------------------------------------
# test
# --------------------------------------------------------------------------
ODOO_SUMMARY = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) ")
PROGRESS = re.compile(r"Loading module|Modules loaded|Starting post tests|post-tests in|odoo\.tests\.stats")


def echo_odoo_line(line, state):
    """Show progress and every error with its traceback; the whole log goes to a file."""
    record = LOG_RECORD.match(line)
    if record:
        state["error"] = record.group(1) in ("ERROR", "CRITICAL")
        if state["error"] or PROGRESS.search(line):
            print("  " + line.rstrip()[:300], flush=True)
    elif state.get("error"):
        print("    " + line.rstrip(), flush=True)


def run_odoo_tests(db, dbname, log_path, tags=None, modules=None):
    modules = modules or canteen_addons()
    tags = tags or ",".join(f"/{m}" for m in modules)
    cmd = odoo_cmd(
        db,
        dbname,
        "-i",
        ",".join(modules),
        "--test-enable",
        "--test-tags",
        tags,
        "--stop-after-init",
        "--without-demo=",
        "--http-port",
        str(free_port()),
        "--log-level=test",
        "--max-cron-threads=0",
    )
    say(f"Odoo: installing {', '.join(modules)} in {dbname!r} and running their tests")
    started = time.monotonic()
    summary = None
    with (
        open(log_path, "w") as log,
        subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
    ):
        state = {}
        for line in proc.stdout:
            log.write(line)
            echo_odoo_line(line, state)
            found = ODOO_SUMMARY.search(line)
            if found:
                summary = tuple(int(n) for n in found.groups())
    say(f"Odoo tests finished in {time.monotonic() - started:.0f}s, exit code {proc.returncode}")
    if summary is None:
        # Odoo did not get as far as running the tests (an install error, say).
        return 0, 1
    failed, errors, total = summary
    failed_total = failed + errors
    if proc.returncode and not failed_total:
        failed_total = 1
    return total - failed - errors, failed_total


def run_pytest(db, dbname, junit_path, pytest_args):
    say("pytest: tests/")
    env = {
        **os.environ,
        "CANTEEN_TEST_DB": dbname,
        "CANTEEN_DB_HOST": db["host"],
        "CANTEEN_DB_PORT": str(db["port"]),
        "CANTEEN_DB_USER": db["user"],
        "CANTEEN_DB_PASSWORD": db["password"],
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests",
            "-p",
            "no:cacheprovider",
            "-ra",
            f"--junitxml={junit_path}",
            *pytest_args,
        ],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if not junit_path.exists():
        return 0, 1
    suite = ET.parse(junit_path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    tests, failures, errors, skipped = (
        int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")
    )
    failed = failures + errors
    if proc.returncode not in (0, 5) and not failed:
        failed = 1
    return tests - failures - errors - skipped, failed


def cmd_test(args):
    ensure_odoo()
    ensure_requirements()
    ensure_system_packages()
    started = time.monotonic()
    LOCAL.mkdir(exist_ok=True)
    db, cluster = ensure_postgres("pg-test", durable=False)
    dbname = f"canteen_test_{os.getpid()}"
    passed = failed = 0
    try:
        with contextlib.suppress(Exception):
            drop_database(db, dbname)
        if not args.pytest_only:
            modules = args.modules.split(",") if args.modules else None
            p, f = run_odoo_tests(db, dbname, LOCAL / f"odoo-test-{os.getpid()}.log", args.test_tags, modules)
            passed, failed = passed + p, failed + f
            say(f"Odoo tests: {p} passed, {f} failed (full log: .local/odoo-test-{os.getpid()}.log)")
        if not args.odoo_only:
            p, f = run_pytest(db, dbname, LOCAL / f"pytest-{os.getpid()}.xml", args.pytest_args)
            passed, failed = passed + p, failed + f
            say(f"pytest: {p} passed, {f} failed")
    finally:
        with contextlib.suppress(Exception):
            drop_database(db, dbname)
        if cluster:
            cluster.stop(remove=True)
    say(f"Whole run: {time.monotonic() - started:.0f}s")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or not passed else 0


def cmd_i18n(args):
    """Export every addon's terms and merge them into its i18n/zh_CN.po, keeping translations."""
    import polib

    ensure_odoo()
    ensure_requirements()
    db, _cluster = ensure_postgres("pg", durable=True)
    dbname = f"canteen_i18n_{os.getpid()}"
    modules = args.addons or canteen_addons()
    drop_database(db, dbname)
    say(f"Installing {', '.join(modules)} in {dbname!r} to export their terms")
    quiet = ["--stop-after-init", "--log-level=warn", "--no-http"]
    subprocess.run(
        # With demo data: its translatable names (departments, canteens) ship in zh_CN too.
        odoo_cmd(db, dbname, "-i", ",".join(modules), "--without-demo=", *quiet),
        check=True,
        cwd=ROOT,
    )
    try:
        for addon in modules:
            pot_path = LOCAL / f"{addon}-{os.getpid()}.pot"
            subprocess.run(
                odoo_cmd(db, dbname, f"--i18n-export={pot_path}", f"--modules={addon}", *quiet),
                check=True,
                cwd=ROOT,
            )
            po_path = ADDONS / addon / "i18n" / "zh_CN.po"
            untranslated = merge_po(polib, pot_path, po_path)
            say(f"{addon}: {po_path.relative_to(ROOT)} has {untranslated} untranslated terms")
    finally:
        drop_database(db, dbname)


def merge_po(polib, pot_path, po_path):
    template = polib.pofile(str(pot_path))
    known = {}
    if po_path.exists():
        known = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(po_path)) if e.msgstr}
        known.update({(None, e.msgid): e.msgstr for e in polib.pofile(str(po_path)) if e.msgstr})
    for entry in template:
        entry.msgstr = known.get((entry.msgctxt, entry.msgid)) or known.get((None, entry.msgid), "")
    template.metadata.update({"Language": "zh_CN", "Plural-Forms": "nplurals=1; plural=0;"})
    po_path.parent.mkdir(exist_ok=True)
    template.save(str(po_path))
    return len(template.untranslated_entries())


def cmd_db(_args):
    ensure_odoo()
    db, _cluster = ensure_postgres("pg", durable=True)
    say(f"PostgreSQL ready at {db['host']}:{db['port']} (user {db['user']})")


def cmd_stop(_args):
    cluster = PrivateCluster("pg", db_settings(), durable=True)
    if cluster.data.exists():
        cluster.stop()
        say("Private PostgreSQL stopped")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Odoo (and the bridge) with every canteen addon and demo data")
    run.add_argument("--database", default=RUN_DB)
    run.add_argument("--port", type=int, default=8069)
    run.set_defaults(func=cmd_run)
    test = sub.add_parser("test", help="install every canteen addon in a throwaway database and test")
    test.add_argument("--odoo-only", action="store_true", help="skip pytest")
    test.add_argument("--pytest-only", action="store_true", help="skip the Odoo tests")
    test.add_argument("--test-tags", help="Odoo test tags instead of every canteen addon, e.g. /canteen_card")
    test.add_argument(
        "--modules",
        help="install only these addons (and what they depend on), e.g. canteen_card,canteen_pos_bridge",
    )
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    test.set_defaults(func=cmd_test)
    i18n = sub.add_parser("i18n", help="export the addons' terms and merge them into i18n/zh_CN.po")
    i18n.add_argument("addons", nargs="*", help="only these addons")
    i18n.set_defaults(func=cmd_i18n)
    db = sub.add_parser("db", help="start only PostgreSQL (the private durable cluster if none answers)")
    db.set_defaults(func=cmd_db)
    stop = sub.add_parser("stop", help="stop the private PostgreSQL started by run")
    stop.set_defaults(func=cmd_stop)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(args.func(args) or 0)


if __name__ == "__main__":
    main()
