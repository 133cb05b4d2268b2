"""Run the Odoo test server on its own until SIGTERM or Ctrl-C (benchmarks, manual tries):

python -m tests.odoo_server --version 17 --port 8069 [--host 127.0.0.1] [--api-key test-key] [--login mdm]
                            [--db odoo] [--password mdm-password]
"""

import argparse
import signal
import threading

from .server import OdooTestServer


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.odoo_server", description=__doc__.splitlines()[0])
    parser.add_argument("--version", type=int, default=17, choices=(16, 17, 18, 19))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--login", default="mdm")
    parser.add_argument("--db", default="odoo")
    parser.add_argument("--password", default="mdm-password")
    args = parser.parse_args(argv)
    server = OdooTestServer(
        version=args.version, api_key=args.api_key, login=args.login, db=args.db, password=args.password, host=args.host
    )
    server.port = args.port or None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"Odoo {args.version} test server on {server.url} (db {args.db!r}, login {args.login!r})", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
