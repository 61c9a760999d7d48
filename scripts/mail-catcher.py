#!/usr/bin/env python3
"""A mail catcher for scripts: an SMTP server that keeps every message in
memory, and MailDev's REST API over them (what the Postman collection reads):

    GET    /email       every message, oldest first
    GET    /email/ID    one message
    DELETE /email/all   forget them all

Usage: mail-catcher.py SMTP_PORT HTTP_PORT   (both on 127.0.0.1)
MAIL_DELAY_MS: how long each message takes to accept (a slow server).
Standard library only."""
import asyncio
import email
import email.policy
import json
import os
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAILS = []
LOCK = threading.Lock()
DELAY = int(os.environ.get("MAIL_DELAY_MS", "0")) / 1000


def addresses(value):
    return [
        {"address": addr, "name": name}
        for name, addr in email.utils.getaddresses([value or ""])
        if addr
    ]


def store(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    with LOCK:
        MAILS.append(
            {
                "id": str(len(MAILS) + 1),
                "from": addresses(msg.get("From")),
                "to": addresses(msg.get("To")),
                "subject": str(msg.get("Subject", "")),
                "text": text.get_content() if text else "",
                "html": html.get_content() if html else "",
                "headers": {k.lower(): str(v) for k, v in msg.items()},
                "date": datetime.now(timezone.utc).isoformat(),
            }
        )


async def session(reader, writer):
    writer.write(b"220 catcher ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO"):
            writer.write(b"250-catcher\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        elif cmd == b"DATA":
            writer.write(b"354 go on\r\n")
            await writer.drain()
            lines = []
            while True:
                data = await reader.readline()
                if data in (b".\r\n", b".\n", b""):
                    break
                lines.append(data[1:] if data.startswith(b"..") else data)
            await asyncio.sleep(DELAY)
            store(b"".join(lines))
            writer.write(b"250 OK\r\n")
        elif cmd.startswith(b"QUIT"):
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with LOCK:
            mails = list(MAILS)
        if self.path.rstrip("/") == "/email":
            return self.reply(200, mails)
        if self.path.startswith("/email/"):
            found = [m for m in mails if m["id"] == self.path.split("/")[2]]
            return self.reply(200, found[0]) if found else self.reply(404, {})
        self.reply(404, {})

    def do_DELETE(self):
        if self.path.rstrip("/") == "/email/all":
            with LOCK:
                MAILS.clear()
            return self.reply(200, True)
        self.reply(404, {})


async def main(smtp_port, http_port):
    api = ThreadingHTTPServer(("127.0.0.1", http_port), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    server = await asyncio.start_server(session, "127.0.0.1", smtp_port)
    print(f"mail-catcher: SMTP 127.0.0.1:{smtp_port}, API http://127.0.0.1:{http_port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
