"""`odoo canteen-bridge`: run the terminal bridge.

    odoo --addons-path=addons canteen-bridge -c odoo.conf -d canteen [--host H] [--port P] [--pool-size N]
         [--batch-workers N] [--offline-parts N]

The database settings come from the Odoo configuration file; host, port and pool size default
to its canteen_bridge_host, canteen_bridge_port, canteen_bridge_pool,
canteen_bridge_batch_workers and canteen_bridge_offline_parts options.
"""

import argparse
import gc
import logging
import signal
import sys

from odoo.cli import Command
from odoo.tools import config


class CanteenBridge(Command):
    """Serve canteen terminals (protocol v1) for one database"""

    name = "canteen-bridge"

    def run(self, cmdargs):
        # No monkey patching: the HTTP server uses gevent sockets and psycopg2 yields through
        # its wait callback, so the rest of Odoo's imports keep their plain blocking behaviour.
        parser = argparse.ArgumentParser(
            prog="odoo canteen-bridge",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("-c", "--config", help="Odoo configuration file")
        parser.add_argument("-d", "--database", help="database to serve (default: db_name of the config)")
        parser.add_argument("--host", help="listen address")
        parser.add_argument("--port", type=int, help="listen port")
        parser.add_argument("--pool-size", type=int, help="database connections")
        parser.add_argument(
            "--batch-workers", type=int, help="charge batches written side by side (default 1)"
        )
        parser.add_argument(
            "--offline-parts",
            type=int,
            help="parts of a large offline upload written side by side, one per core (default 2)",
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
            sys.exit("Give the database to serve with -d.")
        host = args.host or config.get("canteen_bridge_host") or "127.0.0.1"
        port = args.port or int(config.get("canteen_bridge_port") or 8070)
        pool_size = args.pool_size or int(config.get("canteen_bridge_pool") or 32)
        batch_workers = args.batch_workers or int(config.get("canteen_bridge_batch_workers") or 1)
        offline_parts = args.offline_parts or int(config.get("canteen_bridge_offline_parts") or 2)
        serve(dsn(database), host, port, pool_size, batch_workers, offline_parts=offline_parts)


def dsn(database):
    parts = {
        "dbname": database,
        "host": config["db_host"],
        "port": config["db_port"],
        "user": config["db_user"],
        "password": config["db_password"],
    }
    return " ".join(f"{key}='{value}'" for key, value in parts.items() if value not in (None, False, ""))


def serve(database_dsn, host, port, pool_size, batch_workers, *, offline_parts=2):
    import gevent
    import psycopg2.extensions
    from gevent.pool import Pool

    from ..bridge.http import HttpServer
    from ..bridge.server import Bridge, gevent_wait_callback

    logger = logging.getLogger("canteen.bridge")
    psycopg2.extensions.set_wait_callback(gevent_wait_callback)
    app = Bridge(database_dsn, pool_size, batch_workers, offline_parts)
    app.notifier.start()
    listener = gevent.socket.socket(gevent.socket.AF_INET, gevent.socket.SOCK_STREAM)
    listener.setsockopt(gevent.socket.SOL_SOCKET, gevent.socket.SO_REUSEADDR, 1)
    # Answers are small: without TCP_NODELAY, Nagle and the client's delayed ACK add 40 ms.
    listener.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
    listener.bind((host, port))
    listener.listen(1024)
    server = HttpServer(listener, app.respond, spawn=Pool(20000))

    def stop(*_args):
        # Stop accepting, end the long polls, let requests in flight finish, then exit.
        logger.info("SIGTERM: draining")
        app.stopping = True
        app.notifier.wake_all()
        server.drain(timeout=20)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    # Odoo's imports leave a large heap that never becomes garbage: keep the collector from
    # walking it again and again (each full walk is a pause every terminal would wait out).
    gc.freeze()
    logger.info("canteen bridge listening on %s:%s (pool %s)", host, port, pool_size)
    server.serve_forever()
    logger.info("canteen bridge stopped")
