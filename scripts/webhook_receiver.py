#!/usr/bin/env python3
"""A webhook receiver for the sinks' tests: verifies with verifiers we did
not write, records what it got, and answers what the test asks.

    pip install standardwebhooks==1.1.0 jsonschema==4.26.0
    python3 scripts/webhook_receiver.py --port 0 --dir DIR \
        [--secret whsec_...] [--schema schemas/lead-event.v1.json] \
        [--answers 503,503,429] [--then 204]

Prints `listening on PORT` (one line, flushed) once it accepts connections,
then serves until killed. Every POST is answered, in order, with the next
status of --answers and, once they are spent, with --then (default 204). It
is recorded in DIR as `NNNNNN.json`, written before the answer:

    {"path", "headers": {lower-case name: value}, "body": the text,
     "status": the answer, "verified": true/false/null, "verify_error",
     "schema_errors": [...] or null}

--secret verifies the Standard Webhooks signature with the `standardwebhooks`
package from PyPI (null without --secret: Slack does not sign). --schema
validates the JSON body with the `jsonschema` package (Draft 2020-12, with
format checks); null without --schema.
"""

import argparse
import itertools
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--secret")
    parser.add_argument("--schema")
    parser.add_argument("--answers", default="")
    parser.add_argument("--then", type=int, default=204)
    args = parser.parse_args()

    verifier = None
    if args.secret:
        from standardwebhooks.webhooks import Webhook

        verifier = Webhook(args.secret)
    validator = None
    if args.schema:
        import jsonschema

        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.Draft202012Validator
        cls.check_schema(schema)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    answers = [int(a) for a in args.answers.split(",") if a.strip()]
    counter = itertools.count(1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                n = next(counter)
                status = answers[n - 1] if n <= len(answers) else args.then
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "status": status,
                "verified": None,
                "verify_error": None,
                "schema_errors": None,
            }
            if verifier is not None:
                try:
                    verifier.verify(body, dict(self.headers.items()))
                    record["verified"] = True
                except Exception as err:  # noqa: BLE001 - recorded for the test
                    record["verified"] = False
                    record["verify_error"] = str(err)
            if validator is not None:
                try:
                    document = json.loads(body)
                    record["schema_errors"] = [
                        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                        for e in validator.iter_errors(document)
                    ]
                except ValueError as err:
                    record["schema_errors"] = [f"not JSON: {err}"]
            path = os.path.join(args.dir, f"{n:06d}.json")
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(record, f)
            os.replace(path + ".tmp", path)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
