"""Personal approval tokens: random, sent once, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlencode

# 32 random bytes: 256 bits, well above the 128 the gate asks for.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps and looks tokens up by (hex SHA-256).

    Looking a row up by the hash of what was presented leaks nothing useful through
    timing: an attacker cannot steer the hash, so there is no prefix to learn.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def approval_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/approval?{urlencode({'token': token})}"
