"""daemon heartbeats

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemon_heartbeats",
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", worker.cache.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", worker.cache.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("instance_id"),
    )


def downgrade() -> None:
    op.drop_table("daemon_heartbeats")
