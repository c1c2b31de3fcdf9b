"""A real SMTP server for the tests (aiosmtpd): accepts every message and appends it, decoded, as
one JSON line to a file.

    python smtp_sink.py OUTPUT_FILE [PORT]

Listens on 127.0.0.1 (PORT, or a free port when 0 or absent) and prints the port on the first line
of stdout once it accepts connections.
"""

import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


async def main(path, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Sink(path)), "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
