#!/usr/bin/env python3
"""A local AWS stand-in (DynamoDB, SES v2, ...) for the integration tests.

Serves moto's WSGI app on ONE thread. The stock `moto_server` answers each
request on its own thread without locking its DynamoDB backend, so two
conditional `UpdateItem`s on the same key can both succeed; served
single-threaded, every request runs to completion before the next starts and
conditional writes are atomic, like DynamoDB's.

    python3 scripts/moto_server.py --port 0

prints `listening on PORT` (flushed) once the socket accepts connections, then
serves until it is killed. Needs `pip install 'moto[server]==5.2.5'`.
"""

import argparse
import logging
import signal
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    if not args.verbose:
        # One line per request drowns the test output (thousands of requests).
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = DomainDispatcherApplication(create_backend_app)
    # What `run_simple(host, port, app, threaded=False)` builds, kept so the
    # bound port can be printed when --port is 0. Single-threaded servers
    # speak HTTP/1.0 and close each connection, so no client can hold the
    # one thread with an idle keep-alive connection.
    server = make_server(args.host, args.port, app, threaded=False, processes=1)
    # Many simultaneous connects (the 64-way lease test) must queue, not be
    # refused or dropped.
    server.socket.listen(1024)

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"listening on {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
