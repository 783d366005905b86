"""A person's time zone: `metadata.timezone`, else their Slack profile's, else TIMEZONE.

Slack profiles (`users.info`) are cached for a few hours: the reminder job asks every
quarter hour, and people seldom move.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from cachetools import TTLCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reminders.people import PersonZone
from bot.slack.identity import metadata_slack_id
from bot.worktime import zone_named

log = logging.getLogger(__name__)

PROFILE_TTL_SECONDS = 6 * 3600
MAX_PROFILES = 10_000


class SlackZones:
    """The time zones of Slack users, asked of `users.info` and kept for a while."""

    def __init__(self, client: AsyncWebClient, ttl: float = PROFILE_TTL_SECONDS) -> None:
        self.client = client
        self._cache: TTLCache[str, str | None] = TTLCache(maxsize=MAX_PROFILES, ttl=ttl)

    async def zone_name(self, slack_id: str) -> str | None:
        """The `tz` of the Slack user's profile; None when Slack does not say (not cached)."""
        if slack_id in self._cache:
            return self._cache[slack_id]
        try:
            answer = await self.client.users_info(user=slack_id)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            log.warning("Slack users.info failed", extra={"slack_user": slack_id, "error": error})
            if error != "ratelimited":  # Slack's answer (user_not_found, say) holds a while
                self._cache[slack_id] = None
            return None
        except Exception as exc:  # a network failure: fall back to TIMEZONE this time
            log.warning(
                "Slack users.info failed", extra={"slack_user": slack_id, "error": repr(exc)}
            )
            return None
        name = (answer.get("user") or {}).get("tz")
        self._cache[slack_id] = name if isinstance(name, str) else None
        return self._cache[slack_id]


async def zone_of(
    metadata: Mapping[str, Any], default: str, slack_zones: SlackZones | None
) -> PersonZone:
    """The person's zone, and where it came from."""
    zone = zone_named(metadata.get("timezone"))
    if zone is not None:
        return PersonZone(zone, "metadata")
    slack_id = metadata_slack_id(metadata)
    if slack_id and slack_zones is not None:
        zone = zone_named(await slack_zones.zone_name(slack_id))
        if zone is not None:
            return PersonZone(zone, "Slack")
    return PersonZone(ZoneInfo(default), "TIMEZONE")
