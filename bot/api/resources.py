"""Rows to the JSON shapes of the seed spec (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as the seed spec writes times."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def project_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "repo_owner": row["repo_owner"],
        "repo_name": row["repo_name"],
        "github_id": row["github_id"],
        "installation_id": row["installation_id"],
        "installed": row["installed"],
        "active": row["active"],
        "synced_at": iso(row["synced_at"]),
    }


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "github_id": row["github_id"],
        "metadata": row["metadata"] or {},
    }


def pull_request_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "project_id": row["project_id"],
        "title": row["title"],
        "url": row["url"],
        "number": row["number"],
        "github_id": row["github_id"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "state": row["state"],
        "draft": row["draft"],
        "merged": row["merged"],
        "labels": row["labels"] or [],
        "closed_at": iso(row["closed_at"]),
    }
