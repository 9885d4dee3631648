"""The sources of failed assets are removed after a retention period (issue 13, part 2).

- ``assets.failed_at``: when the asset failed, by the application's clock (``homeloop.clock``),
  which the retention compares with; ``updated_at`` is the database's own stamp.
- ``assets.source_removed_at``: when the failed asset's uploaded file was removed from the
  blob store (the row and its report stay).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE assets ADD COLUMN failed_at timestamptz, "
               "ADD COLUMN source_removed_at timestamptz; "
               "UPDATE assets SET failed_at = updated_at WHERE status = 'failed'; "
               "CREATE INDEX assets_failed_sources ON assets (failed_at) "
               "WHERE status = 'failed' AND source_removed_at IS NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE assets DROP COLUMN failed_at, DROP COLUMN source_removed_at")
