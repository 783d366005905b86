"""RedeliveryBackstop: ask GitHub again for the deliveries that never reached us.

GitHub does not redeliver a failed delivery by itself. This job lists the App's
deliveries (`GET /app/hook/deliveries`, as the App, newest first, paged by `cursor`)
back to GitHub's window (3 days) or `hours`, groups the attempts by GUID, and for
each GUID that no attempt got a 2xx for and that is not applied here asks for it
once (`POST /app/hook/deliveries/{id}/attempts`). The GUIDs asked for are recorded
(`bot.store.redeliveries`), so a GUID is never asked twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import aclosing
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from gidgethub import BadRequest, GitHubBroken, RateLimitExceeded
from httpx import HTTPError

from bot.github import parse
from bot.github.client import GitHub, RateLimitLow
from bot.github.shapes import HookDelivery
from bot.store import deliveries, redeliveries

log = logging.getLogger(__name__)

NAME = "RedeliveryBackstop"
# GitHub keeps an App's deliveries, and redelivers them, for three days.
WINDOW_HOURS = 72.0
DELIVERIES = "/app/hook/deliveries{?per_page}"
ATTEMPTS = "/app/hook/deliveries/{delivery_id}/attempts"
# A scheduled run lists back to where the last complete one started, less this much
# (an attempt under way while a run lists it may show up later with an earlier time).
OVERLAP = timedelta(minutes=15)
NO_APP = (
    "cannot redeliver: listing the App's deliveries needs the App itself "
    "(GITHUB_APP_ID and a private key); GITHUB_TOKEN cannot"
)


@dataclass(frozen=True)
class Missed:
    """A GUID no attempt of which GitHub saw answered 2xx."""

    guid: str
    delivery_id: int  # the newest attempt's id: the one to ask again
    event: str
    action: str | None
    first_at: datetime
    first_id: int


@dataclass
class Grouped:
    deliveries: int
    guids: int
    answered: int  # GUIDs with a 2xx attempt
    missed: list[Missed]


def group_attempts(attempts: Iterable[HookDelivery]) -> Grouped:
    """GitHub's delivery attempts (newest first) by GUID: which never got a 2xx, oldest first."""
    by_guid: dict[str, list[HookDelivery]] = {}
    count = 0
    for attempt in attempts:
        count += 1
        by_guid.setdefault(attempt.guid, []).append(attempt)
    missed = []
    answered = 0
    for guid, tries in by_guid.items():
        if any(attempt.answered_2xx for attempt in tries):
            answered += 1
            continue
        newest = max(tries, key=lambda a: a.id)
        missed.append(
            Missed(
                guid=guid,
                delivery_id=newest.id,
                event=newest.event,
                action=newest.action,
                first_at=min(a.delivered_at for a in tries),
                first_id=min(a.id for a in tries),
            )
        )
    # Oldest first (GitHub's ids grow with time: they order attempts of one second).
    missed.sort(key=lambda m: (m.first_at, m.first_id))
    return Grouped(count, len(by_guid), answered, missed)


@dataclass
class RedeliverySummary:
    """What a pass found in GitHub's deliveries and what it asked for."""

    job: str = NAME
    hours: float = WINDOW_HOURS
    deliveries: int = 0
    guids: int = 0
    answered: int = 0  # a 2xx attempt: GitHub saw it delivered
    applied_here: int = 0  # GitHub saw it fail, yet it is applied here (a slow answer)
    asked_before: int = 0
    asked: int = 0
    refused: int = 0
    failed: int = 0
    requests: int = 0
    stopped: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        line = (
            f"{self.job}: {self.deliveries} deliveries of {self.guids} GUIDs in the last "
            f"{self.hours:g} h: {self.answered} answered 2xx, {self.applied_here} applied here, "
            f"{self.asked_before} asked for before; asked for {self.asked} now, "
            f"{self.refused} refused, {self.failed} failed ({self.requests} GitHub requests)"
        )
        if self.stopped:
            line += f"; stopped early: {self.stopped}"
        return line


async def list_attempts(github: GitHub, since: datetime) -> list[HookDelivery]:
    """The App's delivery attempts since `since`, newest first, every page."""
    api = github.app_api()
    found = []
    pages = api.getiter(DELIVERIES, {"per_page": github.per_page})
    async with aclosing(pages) as items:  # type: ignore[type-var]
        async for item in items:
            attempt = parse.hook_delivery(item)
            if attempt.delivered_at < since:
                break  # newest first: the rest is older still
            found.append(attempt)
    return found


async def ask(github: GitHub, delivery_id: int) -> None:
    """Ask GitHub to deliver an attempt's payload again (202: queued)."""
    api = github.app_api()
    api.check_rate_limit()
    await api.post(ATTEMPTS, {"delivery_id": str(delivery_id)}, data={})


async def redeliver(
    state: Any, hours: float = WINDOW_HOURS, incremental: bool = False
) -> RedeliverySummary:
    """One pass of the backstop: list, group, ask for each missed GUID once.

    `incremental` (the scheduled job): list only back to where this process's last
    complete pass started; the first pass after start-up reads the whole window. Every
    GUID older than that was seen whole by that pass, so a page costs no rate limit twice.
    """
    github: GitHub = state.github
    db = state.db
    now = state.clock()
    since = now - timedelta(hours=hours)
    watermark = getattr(state, "redelivery_listed_from", None) if incremental else None
    if watermark is not None and watermark > since:
        since = watermark
    summary = RedeliverySummary(hours=round((now - since).total_seconds() / 3600, 2))
    if github.tokens is None:
        summary.stopped = NO_APP
        if not getattr(state, "redeliver_warned", False):
            state.redeliver_warned = True  # said once per process, not every 10 minutes
            log.warning(NO_APP)
        return summary
    before = github.stats.requests
    try:
        grouped = group_attempts(await list_attempts(github, since))
        summary.deliveries, summary.guids = grouped.deliveries, grouped.guids
        summary.answered = grouped.answered
        guids = [m.guid for m in grouped.missed]
        done = await deliveries.done_guids(db, guids)
        asked = await redeliveries.asked_guids(db, guids)
        for missed in grouped.missed:
            if missed.guid in done:
                summary.applied_here += 1
            elif missed.guid in asked or not await redeliveries.claim(
                db, missed.guid, missed.delivery_id, missed.event, missed.action, state.clock()
            ):
                summary.asked_before += 1
            else:
                await _ask_claimed(state, missed, summary)
    except (RateLimitLow, RateLimitExceeded) as exc:
        summary.stopped = str(exc)
        log.warning("rate limit low; the backstop stops early", extra={"error": str(exc)})
    except parse.PayloadError as exc:
        summary.stopped = f"GitHub's list of deliveries is malformed: {exc}"
        log.error(summary.stopped)
    finally:
        summary.requests = github.stats.requests - before
    if incremental and summary.stopped is None and not summary.failed:
        state.redelivery_listed_from = now - OVERLAP
    return summary


async def _ask_claimed(state: Any, missed: Missed, summary: RedeliverySummary) -> None:
    db = state.db
    fields = {"delivery_id": missed.guid, "event": missed.event, "action": missed.action}
    try:
        await ask(state.github, missed.delivery_id)
    except BadRequest as exc:  # 4xx: GitHub will not (too old, unknown): never again
        if isinstance(exc, RateLimitExceeded):
            await redeliveries.give_back(db, missed.guid)
            raise
        summary.refused += 1
        await redeliveries.settle(db, missed.guid, "refused", f"{exc.status_code}: {exc}")
        log.warning("GitHub refused a redelivery", extra={**fields, "error": str(exc)})
    except RateLimitLow:
        await redeliveries.give_back(db, missed.guid)
        raise
    except (GitHubBroken, HTTPError) as exc:  # after the retries: a later run asks
        summary.failed += 1
        await redeliveries.give_back(db, missed.guid)
        log.warning("could not ask for a redelivery", extra={**fields, "error": repr(exc)})
    else:
        summary.asked += 1
        await redeliveries.settle(db, missed.guid, "asked")
        log.info("asked for a redelivery", extra=fields)


async def job(state: Any) -> RedeliverySummary:
    return await redeliver(state, incremental=True)
