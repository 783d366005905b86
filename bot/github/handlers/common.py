"""What several handlers need: the project a delivery's repository belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.github import mapping
from bot.store import github_state
from bot.store.database import Database


async def project_of(db: Database, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The project of the delivery's repository, created if new, with its installation."""
    return await github_state.upsert_project(
        db,
        mapping.project_row(mapping.part(data, "repository")),
        now,
        installation_id=mapping.installation_id(data),
    )
