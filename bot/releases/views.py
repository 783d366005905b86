"""Releases and approvers as the API shows them: the shapes, and the views (pure).

The views hand datetimes as they are; the API serialises them (ISO 8601, UTC, `Z`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from bot.releases.messages import approver_label
from bot.releases.policy import APPROVED, REJECTED, count_decisions
from bot.store.releases import IN_FLIGHT

Row = Mapping[str, Any]
Status = Literal["pending", "approved", "rejected", "expired"]
Decision = Literal["approved", "rejected"] | None
Channel = Literal["link", "form", "slack"] | None
Time = Annotated[datetime, Field(description="ISO 8601, UTC, with a Z.")]


class ReleaseStatus(TypedDict):
    """What a pipeline polls."""

    id: int
    ReleaseName: str
    ReleaseId: str
    TeamProject: str
    status: Status
    approvals: int
    approvals_needed: Annotated[
        int | None, Field(description="null until the approvers are fetched.")
    ]
    approved_by: list[str]
    rejected_by: list[str]
    approvers_error: Annotated[
        str | None, Field(description="Why the approvers could not be fetched yet (retried).")
    ]
    created_at: Time
    decided_at: Time | None


class Approver(TypedDict):
    """One approver in the audit: who, their decision, through which channel, when."""

    id: int
    name: str | None
    email: str | None
    slack_id: str | None
    github_login: str | None
    decision: Decision
    channel: Channel
    decided_at: Time | None
    notified_at: Time | None
    notify_error: str | None
    expires_at: Time


class Release(ReleaseStatus):
    """A release with each approver's decision, channel and time."""

    approvers_fetched_at: Time | None
    attempts: int
    approvers: list[Approver]


class ApprovalApprover(TypedDict):
    """The holder of an approval token."""

    name: str | None
    email: str | None
    decision: Decision
    channel: Channel
    decided_at: Time | None
    expires_at: Time


class Approval(TypedDict):
    """What the holder of an approval token sees."""

    release: ReleaseStatus
    approver: ApprovalApprover
    status: Status


def release_json(release: Row, approvers: Sequence[Row]) -> ReleaseStatus:
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
        "created_at": release["created_at"],
        "decided_at": release["decided_at"],
    }


def approver_json(approver: Row) -> Approver:
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
        "decided_at": approver["decided_at"],
        "notified_at": approver["notified_at"] if error != IN_FLIGHT else None,
        "notify_error": error,
        "expires_at": approver["expires_at"],
    }


def audit_json(release: Row, approvers: Sequence[Row]) -> Release:
    """The release with every approver and how far the work after the answer got."""
    return {
        **release_json(release, approvers),
        "approvers_fetched_at": release["approvers_fetched_at"],
        "attempts": release["attempts"],
        "approvers": [approver_json(a) for a in approvers],
    }


def approval_json(release: Row, approvers: Sequence[Row], approver: Row) -> Approval:
    """What `GET /approval` shows the holder of a token."""
    return {
        "release": release_json(release, approvers),
        "approver": {
            "name": approver["name"],
            "email": approver["email"],
            "decision": approver["decision"],
            "channel": approver["channel"],
            "decided_at": approver["decided_at"],
            "expires_at": approver["expires_at"],
        },
        "status": release["status"],
    }
