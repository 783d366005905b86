"""The Approve and Reject buttons of a release's Slack DM, handled by Bolt.

Each click is acked at once (Slack wants it within 3 seconds); the work follows:
only the approver the message was sent to may decide, anyone else is told so in an
ephemeral message. Approve records at once (channel `slack`); Reject first opens a
modal asking for the reason, and records when it is submitted. The message is then
updated, and the release's CD system told (a status report or the decision).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.releases import decisions
from bot.releases.callback_sender import deliver_due
from bot.releases.messages import (
    APPROVE_ACTION,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT_ACTION,
    REJECT_VIEW,
    approver_label,
    reject_modal,
)
from bot.releases.policy import APPROVED, PENDING, REJECTED, Verdict, token_ttl
from bot.releases.slack_sync import update_messages
from bot.store import releases as store

log = logging.getLogger(__name__)


def refusal(verdict: Verdict, approver: dict, status: str) -> str | None:
    """What to tell the clicker privately when the click changed nothing."""
    if verdict is Verdict.GONE:
        return "Your approval request has expired; nothing was recorded."
    if verdict is Verdict.CONFLICT:
        if approver["decision"]:
            return f"You already {approver['decision']} this release."
        return f"This release is already {status}; nothing was recorded."
    if verdict is Verdict.FORBIDDEN:
        return "You created this deployment: someone else must decide on it."
    return None


async def _tell(client: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    await client.chat_postEphemeral(channel=channel or user, user=user, text=text)


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


async def approver_for(
    state: State, client: AsyncWebClient, value: str, user: str, channel: str | None
) -> dict | None:
    """The approver a button or modal is for, if `user` is them; else they are told."""
    approver = await store.get_approver(state.db, int(value)) if value.isdigit() else None
    if approver is None or approver["slack_id"] != user:
        owner = f" {approver_label(approver)}" if approver else ""
        log.info("release button refused", extra={"slack_user": user, "value": value})
        await _tell(
            client, channel, user, f"Only the approver{owner} this was sent to can decide here."
        )
        return None
    return approver


async def record(
    state: State,
    client: AsyncWebClient,
    approver: dict,
    decision: str,
    channel: str | None,
    comment: str | None = None,
) -> None:
    ttl = token_ttl(state.settings)
    done = await decisions.decide(
        state.db, approver, decision, "slack", state.clock(), ttl, comment
    )
    text = refusal(done.verdict, done.approver, done.current.status)
    if text:
        await _tell(client, channel or approver["slack_channel"], approver["slack_id"], text)
    await update_messages(state, approver["release_id"])
    if done.verdict is Verdict.RECORD:
        await deliver_due(state, approver["release_id"])


async def handle_click(
    state: State, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any]
) -> None:
    channel = _channel(body)
    approver = await approver_for(
        state, client, str(action.get("value", "")), body["user"]["id"], channel
    )
    if approver is None:
        return
    if action["action_id"] == APPROVE_ACTION:
        await record(state, client, approver, APPROVED, channel)
        return
    # Reject: ask why first, unless there is nothing left to decide.
    release = await store.get_release(state.db, approver["release_id"])
    assert release is not None
    if approver["decision"] or release["status"] != PENDING:
        await record(state, client, approver, REJECTED, channel)
        return
    await client.views_open(
        trigger_id=body["trigger_id"], view=reject_modal(release, approver["id"])
    )


async def handle_reason(state: State, client: AsyncWebClient, body: dict[str, Any]) -> None:
    view = body["view"]
    approver = await approver_for(
        state, client, str(view.get("private_metadata", "")), body["user"]["id"], None
    )
    if approver is None:
        return
    value = view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value") or ""
    await record(state, client, approver, REJECTED, None, value.strip() or None)


def register_listeners(bolt: AsyncApp, state: State) -> None:
    async def on_click(ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        await handle_click(state, client, body, action)

    async def on_reason(ack: Any, body: dict, client: AsyncWebClient) -> None:
        await ack()  # closes the modal; the outcome shows in the DM
        await handle_reason(state, client, body)

    bolt.action(APPROVE_ACTION)(on_click)
    bolt.action(REJECT_ACTION)(on_click)
    bolt.view(REJECT_VIEW)(on_reason)
