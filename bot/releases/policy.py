"""When a release is approved, rejected or expired, and whether a decision may be recorded.

Pure functions over stored rows and an explicit `now`; no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
STATUSES = (PENDING, APPROVED, REJECTED, EXPIRED)

# An approver's decision as stored; the request says "approve" or "reject".
DECISIONS = {"approve": APPROVED, "reject": REJECTED}

Row = Mapping[str, Any]


def token_ttl(settings: Any) -> timedelta:
    """How long an approval token lives (RELEASE_TOKEN_TTL_HOURS)."""
    return timedelta(hours=settings.release_token_ttl_hours)


def approvals_needed(approver_count: int, min_approvals: int | None) -> int:
    """Every approver, or RELEASE_MIN_APPROVALS when set (never more than there are)."""
    if min_approvals is None:
        return approver_count
    return min(min_approvals, approver_count)


def count_decisions(approvers: Sequence[Row], decision: str) -> int:
    return sum(1 for a in approvers if a["decision"] == decision)


def release_status(release: Row, approvers: Sequence[Row], now: datetime, ttl: timedelta) -> str:
    """The status the release has at `now`.

    A decided release keeps its status. A pending one is rejected once anyone rejects,
    approved once enough approved, and expired once the approvers whose tokens still
    live can no longer bring it to enough approvals (or when its approvers could not be
    fetched for a whole token lifetime).
    """
    if release["status"] != PENDING:
        return release["status"]
    if release["approvers_fetched_at"] is None:
        return EXPIRED if now >= release["created_at"] + ttl else PENDING
    if count_decisions(approvers, REJECTED):
        return REJECTED
    approvals = count_decisions(approvers, APPROVED)
    needed = release["approvals_needed"]
    if approvals >= needed:
        return APPROVED
    live = sum(1 for a in approvers if a["decision"] is None and a["expires_at"] > now)
    return EXPIRED if approvals + live < needed else PENDING


def as_of(release: Row, approvers: Sequence[Row], now: datetime, ttl: timedelta) -> dict[str, Any]:
    """The release with the status it has at `now`, for showing; nothing is stored."""
    return {**release, "status": release_status(release, approvers, now, ttl)}


class Verdict(Enum):
    """What to do with an approver's decision."""

    RECORD = "record"  # record it
    REPEAT = "repeat"  # already recorded the same way: answer as before (idempotent)
    GONE = "gone"  # the token expired: 410
    CONFLICT = "conflict"  # the release is decided, or this approver decided otherwise: 409
    FORBIDDEN = "forbidden"  # the deployment's creator deciding on their own deployment: 403


def judge_decision(approver: Row, status: str, decision: str, now: datetime) -> Verdict:
    """Whether `decision` ("approved"/"rejected") by this approver can be recorded at `now`."""
    if approver["decision"] == decision:
        return Verdict.REPEAT
    if approver["expires_at"] <= now:
        return Verdict.GONE
    if status != PENDING or approver["decision"] is not None:
        return Verdict.CONFLICT
    return Verdict.RECORD


def is_deployment_creator(release: Row, approver: Row) -> bool:
    """True when `approver` is who created the release's GitHub deployment.

    Creators are left out of the approvers when those are fetched; this keeps one who
    slipped through (a renamed login, say) from deciding on their own deployment.
    """
    details = release.get("details") or {}
    creator = details.get("creator") if release.get("source") == "github" else None
    login = approver.get("github_login")
    return bool(creator and login and creator.lower() == login.lower())
