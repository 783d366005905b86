"""indexes for a user's details: their open review requests by pull request

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Partial on both backends: withdrawn requests (most of a long-time reviewer's, once they
# answered) never make an idler, so the walk for idled_pull_requests skips them.
OPEN = sa.text("removed_at IS NULL")


def upgrade() -> None:
    # A user's idled pull requests: their open requests from the newest pull request down,
    # read in index order and stopped after a page (approvals and comments walk 0007's
    # reviews (user_id, state, pull_request_id) the same way).
    op.create_index(
        "ix_review_requests_user_pull_request_open",
        "review_requests",
        ["user_id", "pull_request_id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_review_requests_user_pull_request_open", table_name="review_requests")
