"""Run the bridge as a real process for the end-to-end tests, and talk to it as terminals do."""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "addons" / "canteen_pos_bridge" / "tools"))
from terminal_client import TerminalClient  # noqa: E402 - the protocol's reference client


def load_simulator():
    path = ROOT / "scripts" / "terminal_simulator.py"
    spec = importlib.util.spec_from_file_location("terminal_simulator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BridgeProcess:
    """`odoo canteen-bridge` on a free port against a database."""

    def __init__(self, database, *, db_port=None, pool_size=16, extra_args=()):
        self.database, self.pool_size, self.extra_args = database, pool_size, list(extra_args)
        self.db_port = db_port or os.environ["CANTEEN_DB_PORT"]
        self.port = free_port()
        self.process = None
        self.log_path = ROOT / ".local" / f"bridge-{self.port}.log"

    def start(self):
        command = [
            sys.executable,
            "-m",
            "odoo",
            f"--addons-path={ROOT / 'addons'}",
            "canteen-bridge",
            "-c",
            str(ROOT / "odoo.conf"),
            "-d",
            self.database,
            "--port",
            str(self.port),
            "--pool-size",
            str(self.pool_size),
            "--db_host",
            os.environ["CANTEEN_DB_HOST"],
            "--db_port",
            str(self.db_port),
            "--db_user",
            os.environ["CANTEEN_DB_USER"],
            "--db_password",
            os.environ["CANTEEN_DB_PASSWORD"],
            *self.extra_args,
        ]
        self.log_path.parent.mkdir(exist_ok=True)
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            self.wait_until_up()
        except BaseException:
            self.stop()  # a bridge that never answered is not left running behind the test
            raise
        return self

    def wait_until_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bridge exited with {self.process.returncode}, see {self.log_path}")
            try:
                if requests.get(self.url("/api/v1/health"), timeout=1).status_code in (200, 503):
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise RuntimeError(f"bridge did not start, see {self.log_path}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def client(self, terminal, **kwargs):
        return TerminalClient("127.0.0.1", self.port, terminal["serial"], terminal["secret"], **kwargs)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        return self.process.returncode if self.process else None
