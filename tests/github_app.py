"""A real RSA key for the App (PEM for the settings, the public half for the fake GitHub)
and a `send` that posts a signed delivery to the app, for the tests of redelivery."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.webhook_client import WEBHOOK_PATH, headers


@functools.cache
def app_key() -> tuple[str, Any]:
    """One key per test session: making one takes a moment."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def sender(client: Any) -> Callable[[str, bytes, str], int]:
    """Post a signed delivery through `client` (TestClient or httpx.Client): the status, 0
    when no answer came."""

    def send(event: str, body: bytes, guid: str) -> int:
        try:
            answer = client.post(WEBHOOK_PATH, content=body, headers=headers(event, body, guid))
        except httpx.TransportError:
            return 0
        return answer.status_code

    return send


def dropped(event: str, body: bytes, guid: str) -> int:
    """A delivery that never reached the service (it was down, the network cut)."""
    return 0
