"""the portal the cache mirrors

The panel links each client, subscription and task to its HubSpot record, which needs the
portal's id and the domain of its HubSpot app (GET /account-info/…/details, read once).

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hubspot_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.Integer(), nullable=False),
        sa.Column("ui_domain", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("fetched_at", worker.cache.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("hubspot_account")
