"""Finding an approver on Slack and sending or updating their DM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.identity import metadata_slack_id
from bot.store.database import Database
from bot.store.tables import users

# Errors that no retry will cure: the person is not there to be written to.
PERMANENT_ERRORS = frozenset(
    {
        "users_not_found",
        "user_not_found",
        "channel_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "account_inactive",
        "is_archived",
    }
)


def slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or "unknown_error")


async def known_user_slack_id(db: Database, github_login: str) -> str | None:
    """`metadata.slack_id` of the user with that GitHub login, if we know them."""
    row = await db.fetch_one(
        sa.select(users.c.metadata).where(sa.func.lower(users.c.username) == github_login.lower())
    )
    return metadata_slack_id(row["metadata"]) if row else None


async def find_slack_user(
    db: Database, client: AsyncWebClient, approver: Mapping[str, Any]
) -> str | None:
    """Their `slack_id`, a known user's `metadata.slack_id` by GitHub login, or the
    Slack user with their email; None when none of these finds them."""
    if approver.get("slack_id"):
        return approver["slack_id"]
    if approver.get("github_login"):
        slack_id = await known_user_slack_id(db, approver["github_login"])
        if slack_id:
            return slack_id
    if approver.get("email"):
        try:
            answer = await client.users_lookupByEmail(email=approver["email"])
        except SlackApiError as exc:
            if slack_error(exc) == "users_not_found":
                return None
            raise
        return answer["user"]["id"]
    return None


async def post_dm(
    client: AsyncWebClient, slack_user: str, text: str, blocks: list[dict]
) -> tuple[str, str]:
    """Post to the user's DM with the bot; the (channel, ts) that locate the message."""
    # No unfurling: Slack would fetch the approval link (harmless, GET decides nothing, but noisy).
    answer = await client.chat_postMessage(
        channel=slack_user, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
    )
    return answer["channel"], answer["ts"]
