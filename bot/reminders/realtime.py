"""Real-time DMs: a person with `metadata.realtime: true` hears of a review request at once.

Called after the transaction that stored the request has committed (a webhook's
delivery, a fetcher's pull request), with the requests the store says it made. Each
request (pull request, reviewer, time requested) is claimed in `realtime_notices`
before its DM goes, so a redelivery, the next poll or a second process never sends it
again; a DM that fails gives its claim back. Never for the reviewer's own pull request,
nor while they are snoozed or opted out, nor for drafts or ignored labels, nor for a
request older than a day (the first poll of a repository). Never raises:
Slack being down must not fail the delivery that triggered it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from starlette.datastructures import State

from bot.jobs.reminders import Reviewer, find_slack_id, ignored, request_from_row
from bot.reminders.people import opted_out, snoozed_until, wants_realtime
from bot.reminders.zones import zone_of
from bot.slack.identity import metadata_slack_id
from bot.slack.messages import review_requested_dm
from bot.store import reminders as store

log = logging.getLogger(__name__)

# (pull request id, users.id) of a review request just made (or made again).
Made = tuple[int, int]

# Older requests are news to nobody: the first poll of a newly added repository finds
# its old requests "new" and stays quiet about them (the daily reminder has them).
FRESH = timedelta(days=1)


def made_requests(results: Iterable[Any]) -> list[Made]:
    """The requests the store made (its `StoredPullRequest.new_requests`), from what the
    handlers or fetchers got back from it."""
    return [
        (result.id, user_id)
        for result in results
        for user_id in sorted(getattr(result, "new_requests", ()))
    ]


async def announce(state: State, made: Iterable[Made]) -> int:
    """DM each reviewer who asked for it about their new requests; how many DMs went."""
    try:
        return await _announce(state, list(made))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("real-time review request DMs failed")
        return 0


async def _announce(state: State, made: list[Made]) -> int:
    if not made or getattr(state, "slack", None) is None:
        return 0
    db, settings, now = state.db, state.settings, state.clock()
    sent = 0
    # The request as stored now: its time is part of its identity (a re-request moves it).
    for row in await store.requests_to_announce(db, made):
        key = (row["pull_request_id"], row["user_id"], row["requested_at"])
        metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
        if not wants_realtime(metadata) or opted_out(metadata):
            continue
        if row["requested_at"] < now - FRESH:
            continue
        if row["author_id"] == row["user_id"]:
            continue  # never about their own pull request
        if ignored(row["labels"], settings.reminder_ignore_labels):
            continue
        zone = await zone_of(metadata, settings.timezone, getattr(state, "slack_zones", None))
        if snoozed_until(metadata, zone.zone, now) is not None:
            continue
        slack_id = metadata_slack_id(metadata) or await find_slack_id(
            state.slack, db, Reviewer(row["user_id"], row["username"], metadata), remember=True
        )
        if slack_id is None:
            continue
        if not await store.claim_notice(db, *key, now):
            continue
        message = review_requested_dm(request_from_row(row, now).pr, snooze_for=row["user_id"])
        try:
            await state.slack.chat_postMessage(
                channel=slack_id,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:  # SlackApiError or the network, after slack_sdk's retries
            await store.release_notice(db, *key)
            log.warning(
                "real-time DM not sent", extra={"login": row["username"], "error": repr(exc)}
            )
            continue
        sent += 1
        log.info("real-time DM sent", extra={"login": row["username"]})
    return sent
