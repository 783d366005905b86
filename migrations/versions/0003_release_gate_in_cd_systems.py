"""the release gate in GitHub's and Azure's own protocols

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="api", nullable=False)
        )
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=True))
    with op.batch_alter_table("release_approvers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comment", sa.Text(), nullable=True))
    op.create_table(
        "release_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_callbacks_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_callbacks")),
    )
    with op.batch_alter_table("release_callbacks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_callbacks_release_id"), ["release_id"], unique=False
        )
        batch_op.create_index("ix_release_callbacks_due", ["state", "next_attempt_at"])
    op.create_table(
        "release_secrets",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("auth_token", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_secrets_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_release_secrets")),
    )


def downgrade() -> None:
    op.drop_table("release_secrets")
    with op.batch_alter_table("release_callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_release_callbacks_due")
        batch_op.drop_index(batch_op.f("ix_release_callbacks_release_id"))
    op.drop_table("release_callbacks")
    with op.batch_alter_table("release_approvers", schema=None) as batch_op:
        batch_op.drop_column("comment")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("details")
        batch_op.drop_column("source")
