"""Releases and approvers as JSON (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.api.resources import iso
from bot.releases.messages import approver_label
from bot.releases.policy import APPROVED, REJECTED, count_decisions
from bot.store.releases import IN_FLIGHT

Row = Mapping[str, Any]


def release_json(release: Row, approvers: Sequence[Row]) -> dict[str, Any]:
    """What a pipeline polls: the status, approvals had and needed, and who decided."""
    return {
        "id": release["id"],
        "ReleaseName": release["release_name"],
        "ReleaseId": release["release_id"],
        "TeamProject": release["team_project"],
        "status": release["status"],
        "approvals": count_decisions(approvers, APPROVED),
        "approvals_needed": release["approvals_needed"],
        "approved_by": [approver_label(a) for a in approvers if a["decision"] == APPROVED],
        "rejected_by": [approver_label(a) for a in approvers if a["decision"] == REJECTED],
        "approvers_error": release["approvers_error"],
        "created_at": iso(release["created_at"]),
        "decided_at": iso(release["decided_at"]),
        "source": release["source"],
        "details": release["details"],
    }


def approver_json(approver: Row) -> dict[str, Any]:
    """One approver for the audit: who, their decision, through which channel, when."""
    error = approver["notify_error"]
    return {
        "id": approver["id"],
        "name": approver["name"],
        "email": approver["email"],
        "slack_id": approver["slack_id"],
        "github_login": approver["github_login"],
        "decision": approver["decision"],
        "channel": approver["channel"],
        "decided_at": iso(approver["decided_at"]),
        "comment": approver["comment"],
        "notified_at": iso(approver["notified_at"]) if error != IN_FLIGHT else None,
        "notify_error": error,
        "expires_at": iso(approver["expires_at"]),
    }


def callback_json(callback: Row) -> dict[str, Any]:
    """One message to the release's CD system and how its delivery went."""
    return {
        "final": callback["final"],
        "body": callback["body"],
        "state": callback["state"],
        "attempts": callback["attempts"],
        "error": callback["error"],
        "created_at": iso(callback["created_at"]),
        "next_attempt_at": iso(callback["next_attempt_at"])
        if callback["state"] == "pending"
        else None,
        "delivered_at": iso(callback["delivered_at"]),
    }


def callback_state(release: Row, callbacks: Sequence[Row]) -> str | None:
    """Where the decision's callback stands: None for a release nobody waits on,
    "waiting" until decided, then pending, delivered or refused."""
    if release["source"] not in ("github", "azure"):
        return None
    finals = [c for c in callbacks if c["final"]]
    return finals[-1]["state"] if finals else "waiting"


def audit_json(
    release: Row, approvers: Sequence[Row], callbacks: Sequence[Row] = ()
) -> dict[str, Any]:
    """The release with every approver, how far the work after the answer got, and
    what its CD system was told."""
    return {
        **release_json(release, approvers),
        "approvers_fetched_at": iso(release["approvers_fetched_at"]),
        "attempts": release["attempts"],
        "approvers": [approver_json(a) for a in approvers],
        "callback": callback_state(release, callbacks),
        "callbacks": [callback_json(c) for c in callbacks],
    }


def approval_json(release: Row, approvers: Sequence[Row], approver: Row) -> dict[str, Any]:
    """What `GET /approval` shows the holder of a token."""
    return {
        "release": release_json(release, approvers),
        "approver": {
            "name": approver["name"],
            "email": approver["email"],
            "decision": approver["decision"],
            "channel": approver["channel"],
            "decided_at": iso(approver["decided_at"]),
            "comment": approver["comment"],
            "expires_at": iso(approver["expires_at"]),
        },
        "status": release["status"],
    }
