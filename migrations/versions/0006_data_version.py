"""the data version that ETags are made from (bot/store/data_version.py)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE data_version")
        # Taken once so that last_value moves with every later nextval (a new sequence
        # reports last_value 1 both before and after its first nextval).
        op.execute("SELECT nextval('data_version')")
        return
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO data_version (id, value) VALUES (1, 1)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE data_version")
    else:
        op.drop_table("data_version")
