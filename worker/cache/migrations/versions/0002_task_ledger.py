"""task ledger, and contacts.email_problem judged at sync time

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import worker.cache.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_ledger",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("object_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("subscription_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("anchor_date", sa.Date(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("marker", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", worker.cache.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", worker.cache.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_task_ledger_state", "task_ledger", ["state"])
    op.create_index("ix_task_ledger_task", "task_ledger", ["task_id"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("email_problem", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    _backfill_email_problems()


def _backfill_email_problems() -> None:
    """Contacts cached before this revision get their email judged now, as a sync would."""
    from worker.sync.normalize import email_problem

    bind = op.get_bind()
    contacts = sa.table("contacts", sa.column("id", sa.String), sa.column("email", sa.Text), sa.column("email_problem", sa.String))
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.email)).all()
    for contact_id, email in rows:
        problem = email_problem(email)
        if problem:
            bind.execute(contacts.update().where(contacts.c.id == contact_id).values(email_problem=problem))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("email_problem")
    op.drop_index("ix_task_ledger_task", table_name="task_ledger")
    op.drop_index("ix_task_ledger_state", table_name="task_ledger")
    op.drop_table("task_ledger")
