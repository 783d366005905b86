"""Cookies of people signed in with GitHub: sealed (signed and encrypted), HttpOnly, Lax.

A session cookie holds the person's GitHub id, login and user token, so that their
visible repositories can be asked of GitHub again when the cache forgets them; a
signature alone would show that token to anyone who reads the cookie, so it is sealed
with Fernet (AES-128-CBC with an HMAC-SHA256 signature, checked before anything is
read). The key is SESSION_SECRET, or one derived from GITHUB_CLIENT_SECRET, so every
process of one deployment opens the cookies of the others, and a restart keeps
people signed in. The sign-in's OAuth `state` rides in a second, short-lived cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from starlette.responses import Response

from bot.settings import Settings

SESSION_COOKIE = "reviewer_session"
STATE_COOKIE = "reviewer_signin"
# A session ends after this long, or when the user's GitHub token does, whichever is first;
# the dashboard then passes through GitHub again, which asks nothing of a person who
# already authorised the App.
SESSION_SECONDS = 8 * 3600
STATE_SECONDS = 600


@dataclass(frozen=True)
class Session:
    github_id: int
    login: str
    token: str
    expires: int  # epoch seconds


class Sealer:
    """Seals and opens small JSON values with one key."""

    def __init__(self, secret: str) -> None:
        # HMAC as a key derivation: a fixed label, so a SESSION_SECRET or client secret of
        # any length gives the 32 bytes Fernet needs, and no other use of it meets these.
        key = hmac.new(secret.encode(), b"reviewer cookies v1", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: dict[str, Any], now: float) -> str:
        return self._fernet.encrypt_at_time(json.dumps(value).encode(), int(now)).decode()

    def open(self, sealed: str, max_age: int, now: float) -> dict[str, Any] | None:
        """The value, or None when the cookie was tampered with, forged or is too old."""
        try:
            raw = self._fernet.decrypt_at_time(sealed.encode(), max_age, int(now))
            value = json.loads(raw)
        except (InvalidToken, ValueError, UnicodeError):
            return None
        return value if isinstance(value, dict) else None


def sealer(settings: Settings) -> Sealer | None:
    """None while no OAuth client is configured (nobody can sign in)."""
    secret = settings.session_secret or settings.github_client_secret
    return Sealer(secret) if secret else None


def open_session(seal: Sealer, cookie: str | None, now: float) -> Session | None:
    if not cookie:
        return None
    value = seal.open(cookie, SESSION_SECONDS, now)
    if value is None:
        return None
    try:
        session = Session(
            int(value["id"]), str(value["login"]), str(value["token"]), int(value["exp"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    return session if session.expires > now else None


def session_value(session: Session) -> dict[str, Any]:
    return {
        "id": session.github_id,
        "login": session.login,
        "token": session.token,
        "exp": session.expires,
    }


def secure_cookies(settings: Settings, scheme: str) -> bool:
    """Secure when the service is reached over HTTPS (PUBLIC_URL, or the request itself)."""
    return settings.public_url.startswith("https://") or scheme == "https"


def set_cookie(response: Response, name: str, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def clear_cookie(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
