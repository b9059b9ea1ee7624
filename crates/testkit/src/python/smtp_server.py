"""A real SMTP server (aiosmtpd) for the notifications tests.

    smtp_server.py PORT OUTDIR [--starttls CERT KEY] [--implicit-tls CERT KEY]
                   [--refuse] [--auth LOGIN_FILE] [--delay SECONDS]

Every accepted message is written to OUTDIR as <n>.json (envelope, whether
the session was under TLS and authenticated, the raw message). --refuse
answers 550 to every recipient. --auth requires AUTH (over TLS only) with
the user name and password on LOGIN_FILE's two lines, read at every AUTH
(so a test can rotate them).
Prints "ready" once listening.
"""
import asyncio
import email
import email.policy
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

args = sys.argv[1:]
port, outdir = int(args[0]), args[1]
starttls = implicit = None
refuse = False
auth = None
delay = 0.0
i = 2
while i < len(args):
    if args[i] == "--starttls":
        starttls = (args[i + 1], args[i + 2]); i += 3
    elif args[i] == "--implicit-tls":
        implicit = (args[i + 1], args[i + 2]); i += 3
    elif args[i] == "--delay":
        delay = float(args[i + 1]); i += 2
    elif args[i] == "--refuse":
        refuse = True; i += 1
    elif args[i] == "--auth":
        auth = args[i + 1]; i += 2
    else:
        raise SystemExit(f"unknown argument {args[i]}")

counter = itertools.count(1)


def context(pair):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*pair)
    return ctx


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if delay:
            await asyncio.sleep(delay)
        n = next(counter)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in parsed.walk():
            if part.get_content_maintype() == "text":
                parts[part.get_content_subtype()] = part.get_content()
        record = {
            "subject": str(parsed.get("subject", "")),
            "message_id": str(parsed.get("message-id", "")),
            "header_to": str(parsed.get("to", "")),
            "content_type": parsed.get_content_type(),
            "text": parts.get("plain"),
            "html": parts.get("html"),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        tmp = os.path.join(outdir, f".{n}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(outdir, f"{n}.json"))
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, data):
    with open(auth) as f:
        expected = tuple(f.read().split("\n", 1))
    ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == expected
    # handled=False: aiosmtpd answers 535 itself (else a refusal is never answered).
    return AuthResult(success=ok, handled=False)


kwargs = {}
if starttls:
    kwargs["tls_context"] = context(starttls)
if auth:
    kwargs["authenticator"] = authenticator
    kwargs["auth_required"] = True
    kwargs["auth_require_tls"] = True
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=port,
    ssl_context=context(implicit) if implicit else None,
    server_hostname="localhost",
    **kwargs,
)
controller.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
