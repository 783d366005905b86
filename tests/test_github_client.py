"""The pure parts of the GitHub client: what counts as a secondary rate limit."""

from __future__ import annotations

import pytest

from bot.github.client import RateLimit, retry_after


@pytest.mark.parametrize(
    ("status", "headers", "body", "wait"),
    [
        (429, {"retry-after": "7"}, b"", 7.0),
        (403, {"retry-after": "3", "x-ratelimit-remaining": "4000"}, b"", 3.0),
        (429, {}, b"", 60.0),
        (
            403,
            {"x-ratelimit-remaining": "12"},
            b'{"message": "You have exceeded a secondary rate limit"}',
            60.0,
        ),
        (403, {"x-ratelimit-remaining": "0"}, b'{"message": "API rate limit exceeded"}', None),
        (403, {"x-ratelimit-remaining": "4000"}, b'{"message": "Resource not accessible"}', None),
        (502, {"retry-after": "5"}, b"", None),
        (200, {}, b"", None),
    ],
)
def test_retry_after(status, headers, body, wait) -> None:
    assert retry_after(status, headers, body) == wait


def test_rate_limit_from_headers() -> None:
    rate = RateLimit.from_headers(
        {"x-ratelimit-remaining": "42", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "0"}
    )
    assert rate is not None and (rate.remaining, rate.limit, rate.reset.year) == (42, 5000, 1970)
    assert RateLimit.from_headers({}) is None
