"""Releases a CD system opens in its own protocol: a GitHub deployment protection rule,
an Azure DevOps check in callback mode. Both wait for us to call back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.github.shapes import DeploymentProtectionDelivery
from bot.releases import callbacks
from bot.releases.azure import AzureCheck
from bot.releases.policy import PENDING
from bot.releases.reports import AZURE, GITHUB
from bot.store import release_callbacks
from bot.store import releases as store
from bot.store.database import Database


async def answer_again(db: Database, release: dict, now: datetime) -> None:
    """A decided release asked about once more (a re-run): the same answer, sent again."""
    if release["status"] != PENDING:
        approvers = await store.approvers_of(db, release["id"])
        await callbacks.owe_decision(db, release, approvers, now)


# The release's name and details are capped to its columns.
MAX_NAME = 255


def deployment_details(delivery: DeploymentProtectionDelivery) -> dict[str, Any]:
    """What the release keeps of a deployment (shown in the audit, used by callbacks)."""
    return {
        "repository": delivery.repository,
        "environment": delivery.environment,
        "ref": delivery.ref,
        "sha": delivery.sha,
        "event": delivery.event,
        "run_id": delivery.run_id,
        "run_url": delivery.run_url,
        "callback_url": delivery.callback_url,
        "installation_id": delivery.installation_id,
        "creator": delivery.creator.login if delivery.creator else None,
        "creator_id": delivery.creator.github_id if delivery.creator else None,
    }


async def open_github_release(
    db: Database, delivery: DeploymentProtectionDelivery, now: datetime
) -> tuple[dict, bool]:
    """The release for a deployment waiting on the App; True when this created it.

    Runs in the delivery's transaction. A repeated delivery never gets here (its GUID
    is claimed); GitHub asking again about a decided run gets the decision again.
    """
    release, created = await store.create_release(
        db,
        delivery.repository,
        f"{delivery.run_id}/{delivery.environment}",
        f"{delivery.environment} ← {delivery.ref}"[:MAX_NAME],
        now,
        source=GITHUB,
        details=deployment_details(delivery),
    )
    # GitHub asks about the run again (a re-run): the decision again, unless it is
    # still on its way.
    if (
        not created
        and release["source"] == GITHUB
        and not await release_callbacks.final_pending(db, release["id"])
    ):
        await answer_again(db, release, now)
    return release, created


async def open_azure_release(
    db: Database,
    team_project: str,
    release_id: str,
    release_name: str,
    check: AzureCheck,
    now: datetime,
) -> tuple[dict, bool]:
    """The release for an Azure check in callback mode; True when this created it.

    The check's AuthToken is kept apart (release_secrets) until the decision is
    delivered. A known release asked about by a new check (a re-run stage: another
    task instance) takes that check's callback, and is answered at once if decided.
    """
    async with db.transaction():
        # Writing first: this transaction must hold SQLite's write lock from the start.
        release, created = await store.create_release(
            db,
            team_project,
            release_id,
            release_name,
            now,
            source=AZURE,
            details=check.details(),
            look_first=False,
        )
        if created:
            await release_callbacks.keep_secret(db, release["id"], check.auth_token)
            return release, True
        same_check = release["details"] == check.details()
        if release["source"] != AZURE or same_check:
            return release, False
        await store.lock_release(db, release["id"])
        await store.set_details(db, release["id"], check.details())
        await release_callbacks.forget_secret(db, release["id"])
        await release_callbacks.keep_secret(db, release["id"], check.auth_token)
        release = {**release, "details": check.details()}
        await answer_again(db, release, now)
    return release, False
