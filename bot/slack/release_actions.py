"""The Approve and Reject buttons of a release's Slack DM, handled by Bolt.

Each click is acked at once (Slack wants it within 3 seconds); the work follows:
only the approver the message was sent to may decide, anyone else is told so in an
ephemeral message; the decision is recorded (channel `slack`) and the message updated.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.releases import decisions
from bot.releases.messages import APPROVE_ACTION, REJECT_ACTION, approver_label
from bot.releases.policy import APPROVED, REJECTED, Verdict, token_ttl
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
    return None


async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)


async def handle_click(
    state: State, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any]
) -> None:
    decision = APPROVED if action["action_id"] == APPROVE_ACTION else REJECTED
    clicker = body["user"]["id"]
    value = str(action.get("value", ""))
    approver = await store.get_approver(state.db, int(value)) if value.isdigit() else None
    if approver is None or approver["slack_id"] != clicker:
        owner = f" {approver_label(approver)}" if approver else ""
        log.info("release button refused", extra={"slack_user": clicker, "value": value})
        await _tell(client, body, f"Only the approver{owner} this was sent to can decide here.")
        return
    ttl = token_ttl(state.settings)
    done = await decisions.decide(state.db, approver, decision, "slack", state.clock(), ttl)
    text = refusal(done.verdict, done.approver, done.current.status)
    if text:
        await _tell(client, body, text)
    await update_messages(state, approver["release_id"])


def register_listeners(bolt: AsyncApp, state: State) -> None:
    async def on_click(ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        await handle_click(state, client, body, action)

    bolt.action(APPROVE_ACTION)(on_click)
    bolt.action(REJECT_ACTION)(on_click)
