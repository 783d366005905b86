"""What the gate owes a release's CD system, queued in the transaction that decides it.

A release from GitHub (a deployment protection rule) or from Azure in callback mode
waits for us to call back. Each approval before the decision is a status report
(GitHub only); the decision is one message, and any report not sent yet is dropped
then. `callback_sender` delivers the queue after the answer and from the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.releases import reports
from bot.store import release_callbacks as queue
from bot.store.database import Database

Row = Mapping[str, Any]

CD_SOURCES = (reports.GITHUB, reports.AZURE)


def calls_back(release: Row) -> bool:
    return release["source"] in CD_SOURCES and release["details"] is not None


async def owe_decision(db: Database, release: Row, approvers: Sequence[Row], now: datetime) -> None:
    """Queue the decided release's answer to its CD system (nothing for plain releases)."""
    if not calls_back(release):
        return
    await queue.drop_pending_reports(db, release["id"])
    url, body = reports.decision(release, approvers, release["status"])
    await queue.queue(db, release["id"], True, url, body, now)


async def owe_status_report(
    db: Database, release: Row, approvers: Sequence[Row], approver: Row, now: datetime
) -> None:
    """Queue "1 of 2 approvals: Ana approved" where the CD system shows such reports."""
    if not calls_back(release):
        return
    report = reports.status_report(release, approvers, approver)
    if report is None:
        return
    # GitHub takes at most 10 per deployment; the decision says it all anyway.
    if await queue.count_reports(db, release["id"]) >= reports.MAX_STATUS_REPORTS:
        return
    await queue.queue(db, release["id"], False, *report, now)
