"""reviews by pull request and reviewer, in time order

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Whether a reviewer reviewed a pull request since their request (what ends idleness,
    # asked for every request a details answer, the queue or a reminder looks at): one
    # probe of this index. With reviews by pull request alone, or by user alone (SQLite
    # chose that one), the probe read every review of the pull request or of the user,
    # which grows with history. It also leads with the pull request, so it replaces the
    # index on that column alone.
    op.create_index(
        "ix_reviews_pull_request_user_submitted",
        "reviews",
        ["pull_request_id", "user_id", "submitted_at"],
    )
    op.drop_index("ix_reviews_pull_request_id", table_name="reviews")


def downgrade() -> None:
    op.create_index("ix_reviews_pull_request_id", "reviews", ["pull_request_id"])
    op.drop_index("ix_reviews_pull_request_user_submitted", table_name="reviews")
