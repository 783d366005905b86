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
Source = Literal["api", "github", "azure"]
Comment = Annotated[
    str | None, Field(description="The reason given with the decision; passed to the CD system.")
]


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
    source: Annotated[
        Source,
        Field(
            description="POST /release, a GitHub deployment protection rule, or POST /release "
            "from an Azure DevOps check in callback mode."
        ),
    ]
    details: Annotated[
        dict[str, Any] | None,
        Field(
            description="What the CD system said: a deployment's repository, environment, "
            "ref, run_url and creator; an Azure check's plan and task ids."
        ),
    ]


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
    comment: Comment
    notified_at: Time | None
    notify_error: str | None
    expires_at: Time


class Callback(TypedDict):
    """A message to the release's CD system, and how its delivery went."""

    final: Annotated[bool, Field(description="The decision (else a status report).")]
    body: dict[str, Any]
    state: Literal["pending", "delivered", "refused", "dropped"]
    attempts: int
    error: str | None
    created_at: Time
    next_attempt_at: Time | None
    delivered_at: Time | None


class Release(ReleaseStatus):
    """A release with each approver's decision, channel and time, and what its CD system
    was told."""

    approvers_fetched_at: Time | None
    attempts: int
    approvers: list[Approver]
    callback: Annotated[
        Literal["waiting", "pending", "delivered", "refused"] | None,
        Field(
            description="Where the decision's callback to the CD system stands; null when "
            "no CD system waits on the release."
        ),
    ]
    callbacks: list[Callback]


class ApprovalApprover(TypedDict):
    """The holder of an approval token."""

    name: str | None
    email: str | None
    decision: Decision
    channel: Channel
    decided_at: Time | None
    comment: Comment
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
        "source": release["source"],
        "details": release["details"],
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
        "comment": approver["comment"],
        "notified_at": approver["notified_at"] if error != IN_FLIGHT else None,
        "notify_error": error,
        "expires_at": approver["expires_at"],
    }


def callback_json(callback: Row) -> Callback:
    """One message to the release's CD system and how its delivery went."""
    return {
        "final": callback["final"],
        "body": callback["body"],
        "state": callback["state"],
        "attempts": callback["attempts"],
        "error": callback["error"],
        "created_at": callback["created_at"],
        "next_attempt_at": callback["next_attempt_at"] if callback["state"] == "pending" else None,
        "delivered_at": callback["delivered_at"],
    }


def callback_state(release: Row, callbacks: Sequence[Row]) -> Any:
    """Where the decision's callback stands: None for a release nobody waits on,
    "waiting" until decided, then pending, delivered or refused."""
    if release["source"] not in ("github", "azure"):
        return None
    finals = [c for c in callbacks if c["final"]]
    return finals[-1]["state"] if finals else "waiting"


def audit_json(release: Row, approvers: Sequence[Row], callbacks: Sequence[Row] = ()) -> Release:
    """The release with every approver, how far the work after the answer got, and what
    its CD system was told."""
    return {
        **release_json(release, approvers),
        "approvers_fetched_at": release["approvers_fetched_at"],
        "attempts": release["attempts"],
        "approvers": [approver_json(a) for a in approvers],
        "callback": callback_state(release, callbacks),
        "callbacks": [callback_json(c) for c in callbacks],
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
            "comment": approver["comment"],
            "expires_at": approver["expires_at"],
        },
        "status": release["status"],
    }
