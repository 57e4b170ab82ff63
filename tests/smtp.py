"""A real SMTP server for the tests (aiosmtpd) on 127.0.0.1: records every mail it accepts,
and refuses (451) while `refusing` is set."""

import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.received: list[Received] = []
        self.refused = 0
        self.refusing = False
        self.condition = threading.Condition()
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.condition:
            if self.refusing:
                self.refused += 1
                self.condition.notify_all()
                return "451 4.3.0 Try again later"
            raw = envelope.original_content or envelope.content
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(raw, policy=policy.default),
                    raw,
                )
            )
            self.condition.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.received) < count and time.monotonic() < deadline:
                self.condition.wait(max(0.0, deadline - time.monotonic()))
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.recipients]

    def settings(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
