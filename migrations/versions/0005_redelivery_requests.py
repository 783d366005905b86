"""redelivery requests asked of GitHub, and the time of a project's repository name

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The time of the repository picture a project's owner/name came from.
    op.add_column("projects", sa.Column("repo_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "redelivery_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guid", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redelivery_requests")),
        sa.UniqueConstraint("guid", name=op.f("uq_redelivery_requests_guid")),
    )


def downgrade() -> None:
    op.drop_table("redelivery_requests")
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("repo_seen_at")
