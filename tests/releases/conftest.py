"""Fixtures for the release gate: a real SMTP server on loopback, the approvers source
mocked at the HTTP edge (respx), and the service configured to use both."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import respx
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from bot.app import create_app

APPROVERS_URL = "https://approvers.test/teams/{TeamProject}/approvers"
DEVX_URL = "https://approvers.test/teams/Devx/approvers"
ANN = {"name": "Ann", "email": "ann@example.com"}
BOB = {"name": "Bob", "email": "bob@example.com"}
RELEASE = {"ReleaseName": "Desafio-CD", "ReleaseId": "386", "TeamProject": "Devx"}
TOKEN_IN_LINK = re.compile(r"http://reviewer\.test/approval\?token=([A-Za-z0-9_\-]+)")


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def token(self) -> str:
        match = TOKEN_IN_LINK.search(self.text)
        assert match, self.text
        return match.group(1)


class Inbox:
    """aiosmtpd handler: keeps every message the service sends."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_controller() -> Iterator[Controller]:
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def inbox(smtp_controller: Controller) -> Inbox:
    inbox: Inbox = smtp_controller.handler
    inbox.mails.clear()
    return inbox


@pytest.fixture
def smtp_url(smtp_controller: Controller) -> str:
    return f"smtp://{smtp_controller.hostname}:{smtp_controller.port}"


@pytest.fixture
def source() -> Iterator[respx.MockRouter]:
    """The approvers source at the HTTP edge; tests set what it answers."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def release_env(smtp_url: str, inbox: Inbox) -> dict[str, str]:
    return {
        "APPROVERS_URL": APPROVERS_URL,
        "SMTP_URL": smtp_url,
        "SMTP_FROM": "Reviewer <reviewer@example.com>",
    }


@pytest.fixture
def make_client(
    make_settings: Callable[..., Any], release_env: dict[str, str]
) -> Iterator[Callable[..., TestClient]]:
    """A started app with the release settings plus overrides; stopped after the test."""
    clients: list[TestClient] = []

    def make(**overrides: str) -> TestClient:
        client = TestClient(create_app(make_settings(**{**release_env, **overrides})))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def gate(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
