"""indexes for the read routes: open pull requests by id, a user's reviews by state

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GET /v1/pull_requests?state=open: the page and the count from one index, no sort.
    op.create_index("ix_pull_requests_state_id", "pull_requests", ["state", "id"])
    # A user's details: their approvals and comments without reading all their reviews.
    op.create_index(
        "ix_reviews_user_state_pull_request", "reviews", ["user_id", "state", "pull_request_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_reviews_user_state_pull_request", table_name="reviews")
    op.drop_index("ix_pull_requests_state_id", table_name="pull_requests")
