"""A real SMTP server for the email tests (aiosmtpd), on a free port, recording what it accepts.

`hold_at = N` holds the reply to the N-th message's DATA: the client (a worker) then sits
waiting for the 250 that would make the server responsible for it. If the client goes away
meanwhile, aiosmtpd cancels the handler, and the message is recorded as abandoned, never as
accepted: RFC 5321 4.1.1.4 (and RFC 1047) has the receiver take responsibility for a message
only when it sends that 250, so a message whose client vanished before it was never delivered.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from bench.launcher import free_port


class Recorder:
    def __init__(self) -> None:
        self.accepted: list[EmailMessage] = []
        self.abandoned: list[EmailMessage] = []
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self._seen = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self._seen += 1
            hold = self._seen == self.hold_at
        if hold:
            self.holding.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                with self._lock:
                    self.abandoned.append(message)
                raise
        with self._lock:
            self.accepted.append(message)
        return "250 2.0.0 Accepted"

    def recipients(self) -> list[str]:
        with self._lock:
            return [str(m["To"]) for m in self.accepted]

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.accepted]


class SmtpServer:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def mailer(self) -> dict:
        """A MAILERS entry that sends here."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 20},
        }


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Polls until condition() is truthy (returns it), or fails saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
