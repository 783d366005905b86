"""What a sync cycle did and what it cost, for the log line and `reviewer sync`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bot.github.client import GitHub, RequestStats


@dataclass
class Counts:
    """What one project's sync changed in the store."""

    added: int = 0
    updated: int = 0
    closed: int = 0
    # Pull requests whose reviews and review requests were fetched and reconciled.
    checked: int = 0
    reviews: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def describe(self) -> str:
        return (
            f"pull requests: {self.added} added, {self.updated} updated, {self.closed} closed, "
            f"{self.checked} checked for reviews; {self.reviews} reviews new or changed"
        )


@dataclass
class Summary:
    """A cycle of one fetcher over the projects."""

    job: str
    counts: Counts = field(default_factory=Counts)
    projects: int = 0
    skipped: int = 0
    failed: int = 0
    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_left: int | None = None
    # Why the cycle stopped before the last project (the rate limit ran low), if it did.
    stopped: str | None = None

    def cost(self, github: GitHub, before: RequestStats) -> None:
        """Record the GitHub requests made since `before`."""
        now = github.stats
        self.requests = now.requests - before.requests
        self.not_modified = now.not_modified - before.not_modified
        self.retries = now.retries - before.retries
        self.rate_limit_left = github.rate_limit_left()

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        lines = [
            f"{self.job}: {self.projects} projects synced, {self.skipped} skipped, "
            f"{self.failed} failed",
            f"  {self.counts.describe()}",
            f"  {self.requests} GitHub requests ({self.not_modified} not modified, "
            f"{self.retries} retried), rate limit left: "
            f"{'unknown' if self.rate_limit_left is None else self.rate_limit_left}",
        ]
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}")
        return "\n".join(lines)
