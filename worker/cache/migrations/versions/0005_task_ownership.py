"""tasks belong to the people who work them

The ledger remembers what the worker last wrote in each field of a task (subject, owner, due
date, priority were already there; now the body's block and the rule's step), and what HubSpot
showed at the last read-back (owner, due date), so that a person's changes are kept and the
digest follows the task's real owner; and the primary contact a task links to, so that the link
moves with the client's primary contact. New states: completed_in_hubspot, dismissed.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_ledger") as batch:
        batch.add_column(sa.Column("body_block", sa.Text(), nullable=True))
        batch.add_column(sa.Column("step", sa.Date(), nullable=True))
        batch.add_column(sa.Column("hubspot_owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column("hubspot_due_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_back_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.alter_column("state", type_=sqlmodel.sql.sqltypes.AutoString(length=24), existing_type=sqlmodel.sql.sqltypes.AutoString(length=16))


def downgrade() -> None:
    with op.batch_alter_table("task_ledger") as batch:
        for name in ("contact_id", "read_back_at", "hubspot_due_at", "hubspot_owner_id", "step", "body_block"):
            batch.drop_column(name)
