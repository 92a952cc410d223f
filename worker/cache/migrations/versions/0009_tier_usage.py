"""tier usage measured in each client's own portal

[client_portals]: one row per client per day with the contacts, marketing contacts and marketing
emails of the month as the client's HubSpot portal counted them, kept 400 days by default; the
contact-tier rule reads the latest, the projection the history.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tier_usage",
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("portal_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=True),
        sa.Column("marketing_contacts", sa.Integer(), nullable=False),
        sa.Column("emails_sent_month", sa.Integer(), nullable=True),
        sa.Column("measured_at", worker.cache.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "measured_on"),
    )


def downgrade() -> None:
    op.drop_table("tier_usage")
