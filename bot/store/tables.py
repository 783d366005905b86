"""The schema: one SQLAlchemy Core definition used by the queries and the migrations."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.types import JSONObject, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("repo_owner", sa.String(100), nullable=False),
    sa.Column("repo_name", sa.String(100), nullable=False),
    sa.Column("github_id", sa.BigInteger, nullable=True, unique=True),
    sa.Column("installation_id", sa.BigInteger, nullable=True),
    # None: not looked up yet; False: the App is not installed on the repository.
    sa.Column("installed", sa.Boolean, nullable=True),
    # False once the repository left the installation: kept, no longer synced.
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("synced_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The repository's `updated_at` that repo_owner/repo_name came from: an older picture
    # (a late or redelivered delivery from before a rename) does not rename it back.
    sa.Column("repo_seen_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("repo_owner", "repo_name", name="uq_projects_repo"),
)
# GitHub names ignore case: `Docker/CLI` and `docker/cli` are one repository, one project.
sa.Index(
    "uq_projects_repo_lower",
    sa.func.lower(projects.c.repo_owner),
    sa.func.lower(projects.c.repo_name),
    unique=True,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("github_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("metadata", JSONObject, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

pull_requests = sa.Table(
    "pull_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("github_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="open"),
    sa.Column("draft", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("merged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("labels", JSONObject, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("merged_at", UTCDateTime, nullable=True),
    sa.Index("ix_pull_requests_project_state", "project_id", "state"),
    sa.Index("ix_pull_requests_state_id", "state", "id"),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("github_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column(
        "pull_request_id",
        sa.Integer,
        sa.ForeignKey("pull_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # APPROVED, COMMENTED, CHANGES_REQUESTED, DISMISSED (GitHub's spelling, upper case)
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=True),
    sa.Index("ix_reviews_user_state_pull_request", "user_id", "state", "pull_request_id"),
    # Did they review it since their request (migration 0009)?
    sa.Index(
        "ix_reviews_pull_request_user_submitted", "pull_request_id", "user_id", "submitted_at"
    ),
)

review_requests = sa.Table(
    "review_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "pull_request_id",
        sa.Integer,
        sa.ForeignKey("pull_requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # A request names a user or a team, never both.
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("team_slug", sa.String(100), nullable=True),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    # Set when the request is withdrawn; a removed request no longer makes an idler.
    sa.Column("removed_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("pull_request_id", "user_id", name="uq_review_requests_user"),
    sa.UniqueConstraint("pull_request_id", "team_slug", name="uq_review_requests_team"),
    # A user's idled pull requests, newest first (migration 0008).
    sa.Index(
        "ix_review_requests_user_pull_request_open",
        "user_id",
        "pull_request_id",
        postgresql_where=sa.text("removed_at IS NULL"),
        sqlite_where=sa.text("removed_at IS NULL"),
    ),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("guid", sa.String(64), nullable=False, unique=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=True),
    # applied, ignored, failed
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

# The failed deliveries the redelivery backstop asked GitHub for, so none is asked twice.
redelivery_requests = sa.Table(
    "redelivery_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("guid", sa.String(64), nullable=False, unique=True),
    # GitHub's id of the delivery attempt the request named.
    sa.Column("delivery_id", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=True),
    sa.Column("asked_at", UTCDateTime, nullable=False),
    # asking (claimed, not answered yet), asked (GitHub took it), refused (a 4xx)
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("team_project", sa.String(255), nullable=False),
    sa.Column("release_id", sa.String(255), nullable=False),
    sa.Column("release_name", sa.String(255), nullable=False),
    # pending, approved, rejected, expired
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("approvals_needed", sa.Integer, nullable=True),
    # Approvers are fetched and notified after the answer; these say how far that got.
    sa.Column("approvers_fetched_at", UTCDateTime, nullable=True),
    sa.Column("approvers_error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    # Who asked: api (POST /release), github (a deployment protection rule), azure
    # (POST /release in callback mode).
    sa.Column("source", sa.String(16), nullable=False, server_default="api"),
    # What the CD system told us, for people and callbacks: environment, ref, run link,
    # the deployment's creator (never secrets: an Azure AuthToken is in release_secrets).
    sa.Column("details", JSONObject, nullable=True),
    sa.UniqueConstraint("team_project", "release_id", name="uq_releases_team_release"),
)

release_approvers = sa.Table(
    "release_approvers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "release_id",
        sa.Integer,
        sa.ForeignKey("releases.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("slack_id", sa.String(64), nullable=True),
    sa.Column("github_login", sa.String(100), nullable=True),
    # Only a hash of the personal token is kept.
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # None (undecided), approved, rejected
    sa.Column("decision", sa.String(16), nullable=True),
    # link, form, slack
    sa.Column("channel", sa.String(16), nullable=True),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    sa.Column("notified_at", UTCDateTime, nullable=True),
    sa.Column("notify_error", sa.Text, nullable=True),
    # Where the Slack message went, so it can be updated with the decision.
    sa.Column("slack_channel", sa.String(64), nullable=True),
    sa.Column("slack_ts", sa.String(64), nullable=True),
    # The reason given with the decision, passed on to the CD system.
    sa.Column("comment", sa.Text, nullable=True),
)

# What the gate owes a CD system (GitHub's deployment callback, Azure's plan events):
# one row per message, kept until the system takes it, retried with backoff.
release_callbacks = sa.Table(
    "release_callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "release_id",
        sa.Integer,
        sa.ForeignKey("releases.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # True for the decision; False for a status report while the release is pending.
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("body", JSONObject, nullable=False),
    # pending, delivered, refused (the system said no for good), dropped (superseded)
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    # Not before then: the backoff after a failure, or the lease of a worker sending it.
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Index("ix_release_callbacks_due", "state", "next_attempt_at"),
)

# Credentials a callback needs (Azure's AuthToken), kept only until the decision is
# delivered, apart from everything that is shown or logged.
release_secrets = sa.Table(
    "release_secrets",
    metadata,
    sa.Column(
        "release_id",
        sa.Integer,
        sa.ForeignKey("releases.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("auth_token", sa.Text, nullable=False),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # The person's local day (in their own time zone) the reminder belongs to, YYYY-MM-DD.
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("user_id", "day", name="uq_reminders_user_day"),
)

# One real-time DM per review request: a request is its pull request, reviewer and time
# (a re-request moves the time and is a new request). Claimed before sending.
realtime_notices = sa.Table(
    "realtime_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "pull_request_id",
        sa.Integer,
        sa.ForeignKey("pull_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint(
        "pull_request_id", "user_id", "requested_at", name="uq_realtime_notices_request"
    ),
)

# A request idle REMINDER_ESCALATE_DAYS working days, named in SLACK_CHANNEL once per day
# (the team's day, in TIMEZONE).
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "pull_request_id",
        sa.Integer,
        sa.ForeignKey("pull_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("pull_request_id", "user_id", "day", name="uq_escalations_request_day"),
)

# Not declared here: the data version behind ETags, a sequence on PostgreSQL and a one-row
# table on SQLite (migration 0006, bot/store/data_version.py); no query builds on it.

ALL_TABLES = tuple(metadata.sorted_tables)
