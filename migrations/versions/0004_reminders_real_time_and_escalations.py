"""real-time review-request DMs and escalations, each sent once

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _create(name: str, last: sa.Column, unique: str) -> None:
    """A table of (pull request, user, `last`) rows, unique together, sent at a time."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        last,
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_requests.id"],
            name=op.f(f"fk_{name}_pull_request_id_pull_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{name}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("pull_request_id", "user_id", last.name, name=unique),
    )
    op.create_index(op.f(f"ix_{name}_user_id"), name, ["user_id"])


def upgrade() -> None:
    _create(
        "realtime_notices",
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        "uq_realtime_notices_request",
    )
    _create(
        "escalations",
        sa.Column("day", sa.String(length=10), nullable=False),
        "uq_escalations_request_day",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_escalations_user_id"), table_name="escalations")
    op.drop_table("escalations")
    op.drop_index(op.f("ix_realtime_notices_user_id"), table_name="realtime_notices")
    op.drop_table("realtime_notices")
