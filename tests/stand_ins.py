"""Real local peers for the couriers: an SMS gateway stand-in and an SMTP server, on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from reminders.gateway import SmsGatewayStandIn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningGateway:
    state: SmsGatewayStandIn
    url: str


def serve_in_thread(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return server
        time.sleep(0.02)
    raise AssertionError("the local server did not start")


@pytest.fixture
def sms_gateway() -> Iterator[RunningGateway]:
    state = SmsGatewayStandIn()
    port = free_port()
    server = serve_in_thread(state.app(), port)
    yield RunningGateway(state, f"http://127.0.0.1:{port}")
    server.should_exit = True


class Mailbox:
    """Keeps what arrives; refuses recipients at the `bounce.invalid` domain with a 550."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.endswith("@bounce.invalid"):
            return "550 5.1.1 mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted"


@dataclass
class RunningMailServer:
    mailbox: Mailbox
    url: str


@pytest.fixture
def mail_server() -> Iterator[RunningMailServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield RunningMailServer(mailbox, f"smtp://127.0.0.1:{port}")
    controller.stop()
