"""one project per repository, whatever the letter case

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_projects_repo_lower",
        "projects",
        [sa.text("lower(repo_owner)"), sa.text("lower(repo_name)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_projects_repo_lower", table_name="projects")
