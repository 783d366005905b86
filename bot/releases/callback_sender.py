"""Delivering what the gate owes CD systems: GitHub's deployment review, Azure's events.

Each queued callback is claimed (a lease), POSTed, and retried at once with a short
backoff when the system is down (5xx, 429, a timeout, a refused connection); after
that it stays queued and the `releases` job tries again with a growing backoff,
until the system takes it. An answer that will never change (another 4xx: the run is
gone, the token refused) is recorded as refused and logged. Once the decision is
delivered or refused, Azure's AuthToken is deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import gidgethub
import httpx
from starlette.datastructures import State

from bot.github.auth import InstallationGone
from bot.github.client import RateLimitLow
from bot.github.parse import CallbackRefused, callback_run_id
from bot.releases import reports
from bot.releases.approvers import tls_context
from bot.store import release_callbacks as queue
from bot.store import releases as store

log = logging.getLogger(__name__)

# A worker holds a callback this long; one that died mid-send leaves it to the next.
LEASE = timedelta(minutes=5)
# The immediate tries: the first at once, then after these many seconds each.
QUICK_RETRY_DELAYS = (0.25, 0.5)
# Later tries by the job: 1, 2, 4 … minutes after each failed round, at most 30.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(minutes=30)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ERROR_MAX_CHARS = 500


class Refused(Exception):
    """The system answered in a way no retry will change."""


class Failed(Exception):
    """The system did not take it this time; it may later."""


def retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def backoff(rounds: int) -> timedelta:
    """The wait after `rounds` failed rounds of quick tries."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, rounds - 1))


async def _post_github(state: State, release: Mapping[str, Any], callback: Mapping) -> None:
    """POST the review as the installation; the URL must be GitHub's, under GITHUB_API_URL."""
    details = release["details"]
    try:
        callback_run_id(callback["url"], state.settings.github_api_url, details["repository"])
    except CallbackRefused as exc:
        log.warning(
            "deployment callback URL refused",
            extra={"release": release["id"], "url": callback["url"], "error": str(exc)},
        )
        raise Refused(str(exc)) from None
    github = state.github
    if github.tokens is not None:
        api = github.installation_api(details["installation_id"])
    elif github.uses_token:
        api = github.token_api()
    else:
        raise Failed("GitHub App credentials are not set (GITHUB_APP_ID, GITHUB_PRIVATE_KEY)")
    try:
        await api.post(callback["url"], data=callback["body"])
    except gidgethub.HTTPException as exc:
        message = f"GitHub answered {exc.status_code}: {exc}"
        if retryable_status(exc.status_code):
            raise Failed(message) from None
        raise Refused(message) from None
    except InstallationGone as exc:
        raise Refused(str(exc)) from None
    except RateLimitLow as exc:
        raise Failed(str(exc)) from None
    except httpx.HTTPError as exc:
        raise Failed(f"GitHub did not answer ({type(exc).__name__})") from None


async def _post_azure(state: State, release: Mapping[str, Any], callback: Mapping) -> None:
    """POST the event with the check's own AuthToken (Bearer)."""
    token = await queue.secret_of(state.db, release["id"])
    if token is None:
        raise Refused("the check's AuthToken is no longer kept")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, verify=tls_context()) as client:
            response = await client.post(
                callback["url"], json=callback["body"], headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as exc:
        raise Failed(f"Azure DevOps did not answer ({type(exc).__name__})") from None
    if response.is_success:
        return
    message = f"Azure DevOps answered {response.status_code}"
    if retryable_status(response.status_code):
        raise Failed(message)
    raise Refused(message)


async def _post(state: State, release: Mapping[str, Any], callback: Mapping) -> None:
    if release["source"] == reports.GITHUB:
        await _post_github(state, release, callback)
    elif release["source"] == reports.AZURE:
        await _post_azure(state, release, callback)
    else:
        raise Refused(f"a release from {release['source']} has nobody to call back")


async def send_callback(state: State, pk: int) -> str | None:
    """Claim one callback and deliver it; the state it ended in, None if not claimed."""
    db = state.db
    callback = await queue.claim(db, pk, state.clock(), LEASE)
    if callback is None:
        return None
    release = await store.get_release(db, callback["release_id"])
    assert release is not None
    fields = {"release": release["id"], "callback": pk, "final": callback["final"]}
    tries = 0
    error = ""
    outcome = queue.PENDING
    for delay in (0.0, *QUICK_RETRY_DELAYS):
        if delay:
            await asyncio.sleep(delay)
        tries += 1
        try:
            await _post(state, release, callback)
        except Failed as exc:
            error = str(exc)
            continue
        except Refused as exc:
            error, outcome = str(exc), queue.REFUSED
        else:
            error, outcome = "", queue.DELIVERED
        break
    now = state.clock()
    attempts = callback["attempts"] + tries
    if outcome == queue.PENDING:
        rounds = -(-attempts // (1 + len(QUICK_RETRY_DELAYS)))
        retry_at = now + backoff(rounds)
        await queue.finish(
            db,
            pk,
            outcome,
            error=error[:ERROR_MAX_CHARS],
            now=now,
            retry_at=retry_at,
            attempts=tries,
        )
        log.warning(
            "release callback failed; kept for a later try",
            extra={**fields, "attempts": attempts, "retry_at": retry_at, "error": error},
        )
        return outcome
    await queue.finish(
        db, pk, outcome, error=error[:ERROR_MAX_CHARS] or None, now=now, attempts=tries
    )
    # Azure's AuthToken is needed no longer (unless a re-run check's decision waits too).
    if callback["final"] and not await queue.final_pending(db, release["id"]):
        await queue.forget_secret(db, release["id"])
    if outcome == queue.REFUSED:
        log.warning("release callback refused", extra={**fields, "error": error})
    else:
        log.info("release callback delivered", extra={**fields, "attempts": attempts})
    return outcome


async def deliver_due(state: State, release_pk: int | None = None) -> dict[str, int]:
    """Deliver every due callback (of one release, when given), oldest first."""
    counts = {queue.DELIVERED: 0, queue.REFUSED: 0, queue.PENDING: 0}
    for pk in await queue.due(state.db, state.clock(), release_pk):
        try:
            outcome = await send_callback(state, pk)
        except Exception:
            # After the answer nobody is left to tell; the lease runs out and the job retries.
            log.exception("release callback crashed", extra={"callback": pk})
            continue
        if outcome is not None:
            counts[outcome] += 1
    return {
        "delivered": counts[queue.DELIVERED],
        "refused": counts[queue.REFUSED],
        "failed": counts[queue.PENDING],
    }
