"""Bearer tokens from API_TOKENS guard the mutating routes."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from bot.api.errors import ApiError


def token_matches(given: str, allowed: tuple[str, ...]) -> bool:
    """Constant-time: every allowed token is compared, whatever matched earlier."""
    given_bytes = given.encode()
    found = False
    for token in allowed:
        found |= hmac.compare_digest(given_bytes, token.encode())
    return found


def require_token(request: Request) -> None:
    """401 without a bearer token, 403 with a wrong one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if not token_matches(token.strip(), request.app.state.settings.api_tokens):
        raise ApiError(403, "the token is not valid")
