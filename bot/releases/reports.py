"""What the gate tells a CD system: status comments and the decision (pure).

GitHub shows the comments on the waiting run (Markdown, at most 1024 characters, at
most 10 status reports per deployment); Azure only takes the check's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.releases import azure
from bot.releases.messages import approver_label
from bot.releases.policy import APPROVED, EXPIRED, REJECTED, count_decisions

Row = Mapping[str, Any]

GITHUB, AZURE = "github", "azure"
MAX_COMMENT = 1024
MAX_STATUS_REPORTS = 10


def clip(text: str, limit: int = MAX_COMMENT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _said(approver: Row) -> str:
    """ "Ana", or "Ana: reason" when they gave one."""
    comment = (approver.get("comment") or "").strip()
    return f"{approver_label(approver)}: {comment}" if comment else approver_label(approver)


def status_comment(release: Row, approvers: Sequence[Row], approver: Row) -> str:
    """ "1 of 2 approvals: Ana approved" (with Ana's comment, if any)."""
    approvals = count_decisions(approvers, APPROVED)
    needed = release["approvals_needed"]
    text = f"{approvals} of {needed} approvals: {approver_label(approver)} approved"
    comment = (approver.get("comment") or "").strip()
    return clip(f"{text} ({comment})" if comment else text)


def decision_comment(release: Row, approvers: Sequence[Row], status: str) -> str:
    """Who decided and why, for the decision sent to GitHub."""
    approvals = count_decisions(approvers, APPROVED)
    needed = release["approvals_needed"]
    if status == APPROVED:
        approved = [a for a in approvers if a["decision"] == APPROVED]
        names = "; ".join(_said(a) for a in approved)
        return clip(f"Approved in Reviewer: {approvals} of {needed} approvals ({names}).")
    if status == REJECTED:
        rejected = [a for a in approvers if a["decision"] == REJECTED]
        who = "; ".join(_said(a) for a in rejected) or "an approver"
        return clip(f"Rejected in Reviewer by {who}.")
    if status == EXPIRED:
        got = f"{approvals} of {needed}" if needed is not None else "no approvers"
        return clip(f"Expired in Reviewer: no decision in time ({got} approvals).")
    raise ValueError(f"not a decision: {status}")


def github_review(details: Row, state: str | None, comment: str) -> dict[str, Any]:
    """The body GitHub's review endpoint takes; no `state` for a status report."""
    body: dict[str, Any] = {"environment_name": details["environment"], "comment": comment}
    if state is not None:
        body["state"] = state
    return body


def decision(release: Row, approvers: Sequence[Row], status: str) -> tuple[str, dict[str, Any]]:
    """(url, body) of the decision for the release's CD system."""
    details = release["details"]
    approved = status == APPROVED
    if release["source"] == GITHUB:
        state = "approved" if approved else "rejected"
        comment = decision_comment(release, approvers, status)
        return details["callback_url"], github_review(details, state, comment)
    if release["source"] == AZURE:
        return azure.events_url(details), azure.task_completed(details, approved)
    raise ValueError(f"release {release['id']} has no CD system to call back")


def status_report(
    release: Row, approvers: Sequence[Row], approver: Row
) -> tuple[str, dict[str, Any]] | None:
    """(url, body) of a status report for this approval, where the CD system takes one."""
    if release["source"] != GITHUB:
        return None
    details = release["details"]
    comment = status_comment(release, approvers, approver)
    return details["callback_url"], github_review(details, None, comment)
