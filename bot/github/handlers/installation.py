"""`installation` and `installation_repositories` deliveries: which repositories are
projects, synced or not."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import mapping
from bot.store import github_state
from bot.store.database import Database

router = Router()


def _installation(event: Event) -> int:
    installation_id = mapping.installation_id(event.data)
    if installation_id is None:
        raise mapping.PayloadError("payload.installation is missing")
    return installation_id


def _repositories(event: Event, key: str) -> list[Any]:
    repositories = event.data.get(key) or []
    if not isinstance(repositories, list):
        raise mapping.PayloadError(f"payload.{key} is not a list")
    return repositories


async def _activate(
    db: Database, installation_id: int, repositories: Iterable[Any], now: datetime
) -> None:
    for repository in repositories:
        await github_state.upsert_project(
            db, mapping.project_row(repository), now, installation_id=installation_id, active=True
        )


def _github_ids(repositories: Iterable[Any]) -> list[int]:
    return [mapping.project_row(repository)["github_id"] for repository in repositories]


@router.register("installation", action="created")
async def installation_created(event: Event, db: Database, now: datetime) -> None:
    await _activate(db, _installation(event), _repositories(event, "repositories"), now)


@router.register("installation", action="deleted")
async def installation_deleted(event: Event, db: Database, now: datetime) -> None:
    """The App is gone: its projects stop syncing and keep their history."""
    await github_state.deactivate_projects(
        db,
        installation_id=_installation(event),
        github_ids=_github_ids(_repositories(event, "repositories")),
    )


@router.register("installation", action="suspend")
@router.register("installation", action="unsuspend")
async def installation_suspended(event: Event, db: Database, now: datetime) -> None:
    active = event.data["action"] == "unsuspend"
    await github_state.set_installation_active(db, _installation(event), active)


@router.register("installation_repositories", action="added")
@router.register("installation_repositories", action="removed")
async def repositories_changed(event: Event, db: Database, now: datetime) -> None:
    installation_id = _installation(event)
    await _activate(db, installation_id, _repositories(event, "repositories_added"), now)
    removed = _github_ids(_repositories(event, "repositories_removed"))
    if removed:
        await github_state.deactivate_projects(db, github_ids=removed)
