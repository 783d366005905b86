"""What several handlers need: the project a delivery's repository belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.github.shapes import RepositoryDelivery
from bot.store import github_state
from bot.store.database import Database


async def project_of(db: Database, delivery: RepositoryDelivery, now: datetime) -> dict[str, Any]:
    """The project of the delivery's repository, created if new, with its installation."""
    return await github_state.upsert_project(
        db, delivery.repository, now, installation_id=delivery.installation_id
    )
