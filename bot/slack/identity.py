"""A user's Slack id as kept in their `metadata` (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.api.fields import has_control_characters

# The width of the columns that keep a Slack id or a message's target.
MAX_SLACK_ID = 64


def metadata_slack_id(metadata: Mapping[str, Any] | None) -> str | None:
    """`metadata.slack_id` when it can be one: a string of at most MAX_SLACK_ID characters,
    no spaces or control characters. Metadata is free-form (`PATCH /v1/users`); a longer
    value failed the writes that keep it on PostgreSQL."""
    value = (metadata or {}).get("slack_id")
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_SLACK_ID or " " in value or has_control_characters(value):
        return None
    return value
