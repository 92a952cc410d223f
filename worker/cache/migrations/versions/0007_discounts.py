"""discounts, the renewal manager and the renewal options

Optional subscription properties ([subscriptions.properties] discount_percent,
discount_end_date, renewal_manager, renewal_options_url): the price-change task names a discount
that ends at the renewal, a discount ending before it is its own reminder, and the tasks and
reports carry the manager and the link to the client's renewal options.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
import worker.cache.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("discount_percent", worker.cache.models.DecimalText(), nullable=True))
        batch.add_column(sa.Column("discount_end_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("renewal_manager", sa.Text(), nullable=True))
        batch.add_column(sa.Column("renewal_options_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        for name in ("renewal_options_url", "renewal_manager", "discount_end_date", "discount_percent"):
            batch.drop_column(name)
