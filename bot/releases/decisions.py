"""A release's status brought up to now, and an approver's decision recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.releases import callbacks
from bot.releases.policy import (
    APPROVED,
    PENDING,
    Verdict,
    is_deployment_creator,
    judge_decision,
    release_status,
)
from bot.store import releases as store
from bot.store.database import Database


@dataclass(frozen=True)
class Current:
    """A release, its approvers and its status at the time asked."""

    release: dict
    approvers: list[dict]

    @property
    def status(self) -> str:
        return self.release["status"]


async def settle(
    db: Database, release: dict, approvers: list[dict], now: datetime, ttl: timedelta
) -> dict:
    """The release with its status at `now` stored, if that decided it (e.g. expiry);
    its CD system's answer is queued with it."""
    status = release_status(release, approvers, now, ttl)
    if status == release["status"]:
        return release
    async with db.transaction():
        if await store.set_status(db, release["id"], status, now):
            decided = {**release, "status": status, "decided_at": now}
            await callbacks.owe_decision(db, decided, approvers, now)
            return decided
    # Another worker decided it meanwhile: theirs stands.
    fresh = await store.get_release(db, release["id"])
    assert fresh is not None
    return fresh


async def current(db: Database, release: dict, now: datetime, ttl: timedelta) -> Current:
    approvers = await store.approvers_of(db, release["id"])
    return Current(await settle(db, release, approvers, now, ttl), approvers)


@dataclass(frozen=True)
class Decided:
    verdict: Verdict
    approver: dict
    current: Current


async def decide(
    db: Database,
    approver: dict,
    decision: str,
    channel: str,
    now: datetime,
    ttl: timedelta,
    comment: str | None = None,
) -> Decided:
    """Record `decision` ("approved"/"rejected") if the policy allows; all in one transaction,
    with what the release's CD system is owed (a status report, or the decision).

    The release row is locked first, so two approvers deciding at the same moment are
    counted one after the other and the last one sees the other's decision.
    """
    pk = approver["release_id"]
    async with db.transaction():
        await store.lock_release(db, pk)
        release = await store.get_release(db, pk)
        approvers = await store.approvers_of(db, pk)
        assert release is not None
        release = await settle(db, release, approvers, now, ttl)
        mine = next(a for a in approvers if a["id"] == approver["id"])
        verdict = judge_decision(mine, release["status"], decision, now)
        if verdict is Verdict.RECORD and is_deployment_creator(release, mine):
            verdict = Verdict.FORBIDDEN
        if verdict is Verdict.RECORD:
            await store.record_decision(db, mine["id"], decision, channel, now, comment)
            mine = {
                **mine,
                "decision": decision,
                "channel": channel,
                "decided_at": now,
                "comment": comment,
            }
            approvers = [mine if a["id"] == mine["id"] else a for a in approvers]
            release = await settle(db, release, approvers, now, ttl)
            if release["status"] == PENDING and decision == APPROVED:
                await callbacks.owe_status_report(db, release, approvers, mine, now)
    return Decided(verdict, mine, Current(release, approvers))
