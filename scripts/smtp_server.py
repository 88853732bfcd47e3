#!/usr/bin/env python3
"""A real SMTP server for the SMTP mailer's tests (aiosmtpd 1.4.6).

    pip install aiosmtpd==1.4.6
    python3 scripts/smtp_server.py --port 0 --maildir DIR \
        [--starttls CERT KEY | --implicit-tls CERT KEY] [--auth USER:PASS] \
        [--fail-rcpt 'CODE TEXT'] [--fail-data 'CODE TEXT'] [--chaos FILE]

Prints `listening on PORT` (one line, flushed) once it accepts connections,
then serves until killed. Each accepted message is stored in DIR as
`NNNNNN.eml` (the raw bytes as received) with the envelope beside it in
`NNNNNN.json` ({"mail_from", "rcpt_tos", "auth_login", "tls", "peer_port"}); the JSON is
written first and the .eml renamed into place last, both before the server
answers 250, so a client that got its 250 finds both files.

--starttls offers STARTTLS and refuses everything but EHLO/NOOP/QUIT before
it (530); --implicit-tls speaks TLS from the first byte. --auth requires AUTH
PLAIN or LOGIN before MAIL (530 otherwise; 535 for wrong credentials) and,
with --starttls, only offers AUTH after STARTTLS. --fail-rcpt and --fail-data
answer every RCPT TO, or the end of every DATA, with the given reply instead.

--chaos FILE makes the end of DATA misbehave at random, for the chaos test.
FILE is JSON, read again for every message, so a test can change it while
the server runs (missing or invalid: no chaos):

    {"defer": 0.05, "drop": 0.03, "stall": 0.03, "stall_seconds": 5}

defer answers 451 and keeps nothing; drop keeps the message, then closes the
connection without an answer; stall keeps the message and answers 250 only
after stall_seconds (past the client's timeout). What happened to each
message is appended to FILE.log, one word a line (ok, defer, drop, stall).
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class MaildirHandler:
    """Stores messages as raw .eml files plus an envelope sidecar."""

    def __init__(self, maildir, fail_rcpt, fail_data, chaos):
        self.maildir = maildir
        self.fail_rcpt = fail_rcpt
        self.fail_data = fail_data
        self.chaos = chaos
        self.counter = itertools.count(1)

    def roll(self):
        """What --chaos makes of this message, and the stall length."""
        if not self.chaos:
            return "ok", 0
        try:
            with open(self.chaos, encoding="utf-8") as f:
                odds = json.load(f)
        except (OSError, ValueError):
            odds = {}
        dice, edge = random.random(), 0.0
        for fate in ("defer", "drop", "stall"):
            edge += float(odds.get(fate, 0))
            if dice < edge:
                return fate, float(odds.get("stall_seconds", 5))
        return "ok", 0

    def note(self, fate):
        if self.chaos:
            with open(self.chaos + ".log", "a", encoding="utf-8") as f:
                f.write(fate + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.fail_rcpt:
            return self.fail_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_data:
            return self.fail_data
        fate, stall_seconds = self.roll()
        self.note(fate)
        if fate == "defer":
            return "451 4.3.0 chaos: try again later"
        self.store(server, session, envelope)
        if fate == "drop":
            server.transport.abort()
            return "421 4.3.0 chaos: connection dropped"
        if fate == "stall":
            await asyncio.sleep(stall_seconds)
        return "250 OK: queued"

    def store(self, server, session, envelope):
        n = next(self.counter)
        base = os.path.join(self.maildir, f"{n:06d}")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_login": (
                session.auth_data.login.decode("utf-8", "replace")
                if isinstance(session.auth_data, LoginPassword)
                else None
            ),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            # The client's port tells tests whether two messages shared a session.
            "peer_port": session.peer[1] if session.peer else None,
        }
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.replace(base + ".eml.tmp", base + ".eml")


def authenticator_for(user, password):
    """AUTH PLAIN/LOGIN succeeds only for exactly USER and PASS."""
    user_b, password_b = user.encode(), password.encode()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user_b
            and auth_data.password == password_b
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: let aiosmtpd answer 535 itself.
        return AuthResult(success=False, handled=False)

    return authenticate


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def reply(text):
    """Validates a --fail-* reply such as '452 4.5.3 Too many recipients'."""
    code = text.split(" ", 1)[0]
    if len(code) != 3 or not code.isdigit() or code[0] not in "45":
        raise argparse.ArgumentTypeError("expected a 4xx or 5xx reply, e.g. '451 try later'")
    return text


async def serve(args):
    starttls_ctx = tls_context(*args.starttls) if args.starttls else None
    implicit_ctx = tls_context(*args.implicit_tls) if args.implicit_tls else None
    authenticator = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep:
            sys.exit("--auth expects USER:PASS")
        authenticator = authenticator_for(user, password)
    handler = MaildirHandler(args.maildir, args.fail_rcpt, args.fail_data, args.chaos)

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=starttls_ctx,
            require_starttls=starttls_ctx is not None,
            authenticator=authenticator,
            auth_required=authenticator is not None,
            # aiosmtpd only knows about STARTTLS; an implicit-TLS connection
            # is encrypted from the start, so AUTH needs no upgrade there.
            # Without any TLS, AUTH is refused (538) like a real server.
            auth_require_tls=implicit_ctx is None,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host=args.host, port=args.port, ssl=implicit_ctx)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--maildir", required=True)
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--fail-rcpt", type=reply, metavar="'CODE TEXT'")
    parser.add_argument("--fail-data", type=reply, metavar="'CODE TEXT'")
    parser.add_argument("--chaos", metavar="FILE")
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    # aiosmtpd warns when AUTH is required without STARTTLS; with implicit
    # TLS that is exactly right.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
