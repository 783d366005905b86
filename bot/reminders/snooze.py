"""The "Snooze until tomorrow" button of reminder and real-time DMs, handled by Bolt.

A click is acked at once; then, if the clicker is the person the DM was sent to, their
`metadata.snooze_until` becomes their next working morning (in their zone) and the
message shows until when instead of the button. Anyone else is told so privately.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.reminders.zones import zone_of
from bot.slack.identity import metadata_slack_id
from bot.slack.messages import SNOOZE_ACTION, snoozed_message
from bot.store.users import get_user, update_metadata
from bot.worktime import WorkingWeek, next_working_morning

log = logging.getLogger(__name__)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The channel and timestamp of the message whose button was clicked."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, ts


def shown(until: datetime, zone_name: str) -> str:
    """`Mon 12 Jan 09:00 (America/Los_Angeles)`."""
    return f"{until:%a %d %b %H:%M} ({zone_name})"


async def handle_snooze(
    state: State, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any]
) -> None:
    clicker = body["user"]["id"]
    channel, ts = _where(body)
    value = str(action.get("value", ""))
    user = await get_user(state.db, int(value)) if value.isascii() and value.isdigit() else None
    metadata = (user or {}).get("metadata") or {}
    if user is None or metadata_slack_id(metadata) != clicker:
        log.info("snooze refused", extra={"slack_user": clicker, "value": value})
        if channel:
            await client.chat_postEphemeral(
                channel=channel,
                user=clicker,
                text="Only the person this reminder was sent to can snooze it.",
            )
        return
    settings = state.settings
    zone = await zone_of(metadata, settings.timezone, getattr(state, "slack_zones", None))
    local_until = next_working_morning(
        state.clock(), zone.zone, WorkingWeek.from_settings(settings)
    ).astimezone(zone.zone)
    await update_metadata(state.db, user["id"], {"snooze_until": local_until.isoformat()})
    log.info("reminders snoozed", extra={"login": user["username"], "until": local_until})
    if channel and ts:
        blocks = (body.get("message") or {}).get("blocks") or []
        message = snoozed_message(blocks, shown(local_until, zone.zone.key))
        await client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)


def register_listeners(bolt: AsyncApp, state: State) -> None:
    async def on_snooze(ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        await handle_snooze(state, client, body, action)

    bolt.action(SNOOZE_ACTION)(on_snooze)
