"""The work after `POST /release` answers: fetch the approvers, notify them.

It runs as a background task right after the answer, and again from the job
`process_pending_releases`, which finishes whatever a crash or a failing approvers
source left undone. Every step is recorded on the rows and guarded, so running it
twice, or in two processes at once, fetches one set of approvers and notifies each once.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import State

from bot.logs import log_context
from bot.releases import decisions
from bot.releases.approvers import ApproversError, fetch_approvers, leave_out
from bot.releases.callback_sender import deliver_due
from bot.releases.messages import github_deployment
from bot.releases.notify import notify_approver
from bot.releases.policy import PENDING, approvals_needed, token_ttl
from bot.releases.tokens import new_token, token_hash
from bot.store import releases as store

log = logging.getLogger(__name__)

# The job's name for the scheduler and the logs.
NAME = "releases"


async def fetch_and_keep_approvers(state: State, release: dict) -> bool:
    """Fetch and keep the approvers; False (with the reason on the release) if that failed."""
    db = state.db
    settings = state.settings
    await store.count_attempt(db, release["id"])
    if not settings.approvers_url:
        await store.record_fetch_error(db, release["id"], "APPROVERS_URL is not set")
        return False
    deployment = github_deployment(release)
    try:
        approvers = await fetch_approvers(
            settings.approvers_url,
            release["team_project"],
            environment=deployment["environment"] if deployment else "",
        )
        details = None
        if deployment and (deployment.get("creator") or deployment.get("creator_id")):
            # The deployment's creator never approves their own deployment.
            approvers, left_out = leave_out(approvers, await person_keys(db, deployment))
            if not approvers:
                raise ApproversError("no approvers besides the deployment's creator")
            details = {**deployment, "left_out": [a.label for a in left_out]}
    except ApproversError as exc:
        log.warning("approvers not fetched", extra={"release": release["id"], "error": str(exc)})
        await store.record_fetch_error(db, release["id"], str(exc))
        return False
    now = state.clock()
    # Each approver's real token is made when they are notified; until then the row
    # holds the hash of a token nobody was ever given.
    rows = [
        {
            **a.as_row(),
            "token_hash": token_hash(new_token()),
            "expires_at": now + token_ttl(state.settings),
        }
        for a in approvers
    ]
    needed = approvals_needed(len(rows), settings.release_min_approvals)
    await store.store_approvers(db, release["id"], rows, needed, now, details)
    return True


async def person_keys(db: Any, deployment: dict[str, Any]) -> set[tuple[str, str]]:
    """How the deployment's creator may appear among approvers: their GitHub login, and
    the Slack id and email a user we know by that login or id keeps in their metadata."""
    keys: set[tuple[str, str]] = set()
    if deployment.get("creator"):
        keys.add(("github_login", deployment["creator"].lower()))
    known = await store.known_user(db, deployment.get("creator_id"), deployment.get("creator"))
    metadata = (known or {}).get("metadata") or {}
    if isinstance(metadata.get("slack_id"), str):
        keys.add(("slack_id", metadata["slack_id"]))
    if isinstance(metadata.get("email"), str):
        keys.add(("email", metadata["email"].lower()))
    if known:
        keys.add(("github_login", known["username"].lower()))
    return keys


async def process_release(state: State, pk: int) -> None:
    """Fetch the approvers of a pending release if still needed, then notify the rest."""
    token = log_context.set({**(log_context.get() or {}), "release": pk})
    try:
        release = await store.get_release(state.db, pk)
        if release is None or release["status"] != PENDING:
            return
        if release["approvers_fetched_at"] is None and not await fetch_and_keep_approvers(
            state, release
        ):
            return
        release = await store.get_release(state.db, pk)
        assert release is not None
        settled = await decisions.current(
            state.db, release, state.clock(), token_ttl(state.settings)
        )
        if settled.status != PENDING:
            return
        for approver in await store.unnotified_approvers(state.db, pk, state.clock()):
            await notify_approver(state, release, approver["id"], state.clock())
    except Exception:
        # After the answer nobody is left to tell; the job will try again.
        log.exception("release work failed", extra={"release": pk})
    finally:
        log_context.reset(token)


async def process_pending_releases(state: State) -> dict[str, Any]:
    """The job: expire what has run out, and finish every release's unfinished work."""
    token = log_context.set({**(log_context.get() or {}), "job": NAME})
    try:
        db = state.db
        now = state.clock()
        pending = await store.pending_releases(db)
        grouped = await store.approvers_by_release(db, [r["id"] for r in pending])
        expired = 0
        for release in pending:
            settled = await decisions.settle(
                db, release, grouped[release["id"]], now, token_ttl(state.settings)
            )
            expired += settled["status"] != PENDING
        todo = await store.releases_needing_work(db, now)
        for pk in todo:
            await process_release(state, pk)
        # What CD systems are owed: decisions (these expiries too), status reports.
        sent = await deliver_due(state)
        summary: dict[str, Any] = {
            "pending": len(pending) - expired,
            "decided": expired,
            "worked_on": len(todo),
        }
        if any(sent.values()):
            summary["callbacks"] = sent
        log.info("releases processed", extra=summary)
        return summary
    finally:
        log_context.reset(token)
