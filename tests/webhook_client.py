"""Real GitHub payloads, signed as GitHub signs them, posted to the app."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import WEBHOOK_SECRET

PAYLOADS = Path(__file__).parent / "payloads"
WEBHOOK_PATH = "/github/webhooks"


@cache
def _read(name: str) -> str:
    path = PAYLOADS / name
    path = path / "payload.json" if path.is_dir() else path.with_name(path.name + ".payload.json")
    return path.read_text()


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of a stored payload: `payload("pull_request/opened")`, `payload("ping")`."""
    return copy.deepcopy(json.loads(_read(name)))


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The `X-Hub-Signature-256` header GitHub sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(data: dict[str, Any] | bytes) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode()


def headers(
    event: str,
    body: bytes,
    guid: str | None = None,
    secret: str | None = WEBHOOK_SECRET,
) -> dict[str, str]:
    """GitHub's delivery headers for `body`; `secret=None` sends no signature."""
    result = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
    }
    if secret is not None:
        result["X-Hub-Signature-256"] = sign(body, secret)
    return result


def deliver(
    client: Any,
    event: str,
    data: dict[str, Any] | bytes,
    guid: str | None = None,
    secret: str | None = WEBHOOK_SECRET,
) -> Any:
    """POST one signed delivery through an HTTP client (TestClient or httpx); the answer."""
    body = encode(data)
    return client.post(WEBHOOK_PATH, content=body, headers=headers(event, body, guid, secret))
