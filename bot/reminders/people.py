"""A person's reminder preferences as their `metadata` holds them (pure), and their zone.

Keys: `timezone` (IANA name), `snooze_until` (ISO 8601), `realtime` (true/false),
`reminders` (false turns them off), `slack_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.worktime import zone_named

OFF_VALUES = (False, "false", "off", "no")
ON_VALUES = (True, "true", "on", "yes")


@dataclass(frozen=True)
class PersonZone:
    """A person's time zone and where it came from: metadata, Slack or TIMEZONE."""

    zone: ZoneInfo
    source: str

    def __str__(self) -> str:
        return f"{self.zone.key} ({self.source})"


def _flag(value: Any, words: tuple[Any, ...]) -> bool:
    if isinstance(value, str):
        value = value.strip().lower()
    return any(value is word if isinstance(word, bool) else value == word for word in words)


def opted_out(metadata: Mapping[str, Any]) -> bool:
    """`reminders: false` (or "off", "no") turns every reminder and real-time DM off."""
    return _flag(metadata.get("reminders", True), OFF_VALUES)


def wants_realtime(metadata: Mapping[str, Any]) -> bool:
    return _flag(metadata.get("realtime"), ON_VALUES)


def parse_instant(value: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 date or time as an aware UTC instant; a time without offset is `zone`'s."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def snoozed_until(metadata: Mapping[str, Any], zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the person's snooze ends, while it has not ended yet; else None."""
    until = parse_instant(metadata.get("snooze_until"), zone)
    return until if until is not None and until > now else None


def metadata_errors(patch: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with the reminder keys of a metadata patch (a None value clears a key)."""
    errors: dict[str, str] = {}
    timezone = patch.get("timezone")
    if timezone is not None and zone_named(timezone) is None:
        errors["metadata.timezone"] = "must be an IANA time zone name, e.g. Europe/Berlin"
    snooze = patch.get("snooze_until")
    if snooze is not None and parse_instant(snooze, ZoneInfo("UTC")) is None:
        errors["metadata.snooze_until"] = (
            "must be an ISO 8601 date or time, e.g. 2026-01-12T09:00:00+01:00"
        )
    realtime = patch.get("realtime")
    if realtime is not None and not isinstance(realtime, bool):
        errors["metadata.realtime"] = "must be true or false"
    return errors
