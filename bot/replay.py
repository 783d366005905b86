"""`reviewer replay`: post a saved webhook payload, signed as GitHub signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import httpx


def signature(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(body: bytes, event: str, secret: str) -> dict[str, str]:
    """The headers of a GitHub delivery, with a fresh delivery id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/reviewer-replay",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body, secret),
    }


def read_payload(path: Path) -> bytes:
    """The file's bytes, as they will be signed; ValueError unless it holds a JSON object."""
    body = path.read_bytes()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds JSON but not an object, as a webhook payload is")
    return body


def replay(body: bytes, event: str, url: str, secret: str, timeout: float = 30) -> httpx.Response:
    """Post one delivery to `url` and return the answer."""
    return httpx.post(
        url, content=body, headers=delivery_headers(body, event, secret), timeout=timeout
    )
