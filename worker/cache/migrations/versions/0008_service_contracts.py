"""service contracts: the second kind of renewal

The partner's own service contracts with each client ([services]): the same columns as the
subscriptions (worker.cache.models.RenewalRecord), in a table of their own so that a full pass,
its reconcile guard and its sweep stay per kind.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = worker.cache.models.UTCDateTime(timezone=True)
    op.create_table(
        "service_contracts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("object_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("renewal_date", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("products", sa.Text(), nullable=True),
        sa.Column("current_price", worker.cache.models.DecimalText(length=48), nullable=True),
        sa.Column("renewal_price", worker.cache.models.DecimalText(length=48), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("communication_owner", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("contact_tier", sa.Integer(), nullable=True),
        sa.Column("contacts_used", sa.Integer(), nullable=True),
        sa.Column("emails_sent", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("discount_percent", worker.cache.models.DecimalText(), nullable=True),
        sa.Column("discount_end_date", sa.Date(), nullable=True),
        sa.Column("renewal_manager", sa.Text(), nullable=True),
        sa.Column("renewal_options_url", sa.Text(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("hs_created_at", utc, nullable=True),
        sa.Column("hs_updated_at", utc, nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", utc, nullable=True),
        sa.Column("deleted_at", utc, nullable=True),
        sa.Column("seen_generation", sa.Integer(), nullable=False),
        sa.Column("synced_at", utc, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_contracts_company", "service_contracts", ["company_id"])
    op.create_index("ix_service_contracts_renewal", "service_contracts", ["renewal_date"])


def downgrade() -> None:
    op.drop_index("ix_service_contracts_renewal", table_name="service_contracts")
    op.drop_index("ix_service_contracts_company", table_name="service_contracts")
    op.drop_table("service_contracts")
