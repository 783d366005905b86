"""`installation` and `installation_repositories` deliveries: which repositories are
projects, synced or not."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import parse
from bot.github.shapes import Repository
from bot.store import github_state
from bot.store.database import Database

router = Router()


async def _activate(
    db: Database, installation_id: int, repositories: Iterable[Repository], now: datetime
) -> None:
    for repository in repositories:
        await github_state.upsert_project(
            db, repository, now, installation_id=installation_id, active=True
        )


@router.register("installation", action="created")
async def installation_created(event: Event, db: Database, now: datetime) -> None:
    delivery = parse.installation_delivery(event.data)
    await _activate(db, delivery.installation_id, delivery.repositories, now)


@router.register("installation", action="deleted")
async def installation_deleted(event: Event, db: Database, now: datetime) -> None:
    """The App is gone: its projects stop syncing and keep their history."""
    delivery = parse.installation_delivery(event.data)
    await github_state.deactivate_projects(
        db,
        installation_id=delivery.installation_id,
        github_ids=[repository.github_id for repository in delivery.repositories],
    )


@router.register("installation", action="suspend")
@router.register("installation", action="unsuspend")
async def installation_suspended(event: Event, db: Database, now: datetime) -> None:
    active = event.data["action"] == "unsuspend"
    await github_state.set_installation_active(
        db, parse.required_installation_id(event.data), active
    )


@router.register("installation_repositories", action="added")
@router.register("installation_repositories", action="removed")
async def repositories_changed(event: Event, db: Database, now: datetime) -> None:
    delivery = parse.repositories_delivery(event.data)
    await _activate(db, delivery.installation_id, delivery.added, now)
    if delivery.removed:
        await github_state.deactivate_projects(
            db, github_ids=[repository.github_id for repository in delivery.removed]
        )
