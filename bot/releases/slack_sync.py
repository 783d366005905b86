"""Keeping the approvers' Slack messages in step with their decisions and the release."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from starlette.datastructures import State

from bot.releases.messages import slack_outcome
from bot.releases.policy import PENDING
from bot.store import releases as store

log = logging.getLogger(__name__)


async def update_messages(state: State, pk: int) -> int:
    """Replace the buttons with the outcome in every DM whose approver decided, and in
    all of them once the release is decided; how many messages were updated."""
    client = getattr(state, "slack", None)
    if client is None:
        return 0
    release = await store.get_release(state.db, pk)
    if release is None:
        return 0
    updated = 0
    for approver in await store.approvers_of(state.db, pk):
        if not (approver["slack_channel"] and approver["slack_ts"]):
            continue
        if release["status"] == PENDING and approver["decision"] is None:
            continue  # still waiting for this one: keep the buttons
        text, blocks = slack_outcome(release, approver, release["status"])
        try:
            await client.chat_update(
                channel=approver["slack_channel"], ts=approver["slack_ts"], text=text, blocks=blocks
            )
            updated += 1
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "could not update a release message on Slack",
                extra={"release": pk, "approver": approver["id"], "error": repr(exc)},
            )
    return updated
