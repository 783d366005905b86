"""`repository` deliveries: a repository renamed or moved to another owner keeps its
project, under its new owner and name, so the fetchers ask GitHub for the right one."""

from __future__ import annotations

from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import parse
from bot.github.handlers.common import project_of
from bot.store.database import Database

router = Router()


@router.register("repository", action="renamed")
@router.register("repository", action="transferred")
async def repository_moved(event: Event, db: Database, now: datetime) -> None:
    """The project is matched by the repository's GitHub id, which a move keeps."""
    await project_of(db, parse.repository_delivery(event.data), now)
