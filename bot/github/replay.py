"""`reviewer replay`: post a saved webhook payload, signed as GitHub signs it, to a running
instance (ours or any other), to reproduce a delivery by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import httpx


def signature(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(event: str, body: bytes, secret: str, guid: str | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": "reviewer-replay",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body, secret),
    }


def replay(
    path: Path, event: str, url: str, secret: str, guid: str | None = None, timeout: float = 30
) -> httpx.Response:
    """POST the file's bytes unchanged (the signature covers them) as one delivery.

    Raises ValueError when the file is not a JSON object.
    """
    body = path.read_bytes()
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return httpx.post(
        url, content=body, headers=delivery_headers(event, body, secret, guid), timeout=timeout
    )
