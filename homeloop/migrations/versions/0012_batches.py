"""Production batches: fleet quality alerts per SKU and batch.

- ``product_instances.batch``: the production batch (lot) a tag was provisioned for, when the
  factory gave one; NULL when unknown.
- ``quality_alerts.batch``: the batch the alert is about, NULL for the whole SKU. One alert
  per SKU, batch and day (``NULLS NOT DISTINCT``: a whole-SKU alert is unique too).

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCHES = """
ALTER TABLE product_instances
    ADD COLUMN batch text CHECK (batch ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$');
CREATE INDEX product_instances_sku_batch ON product_instances (sku, batch);

ALTER TABLE quality_alerts ADD COLUMN batch text;
ALTER TABLE quality_alerts DROP CONSTRAINT quality_alerts_sku_day_key;
ALTER TABLE quality_alerts
    ADD CONSTRAINT quality_alerts_sku_batch_day_key UNIQUE NULLS NOT DISTINCT (sku, batch, day);
"""


def upgrade() -> None:
    op.execute(BATCHES)


def downgrade() -> None:
    op.execute("""
        DELETE FROM quality_alerts WHERE batch IS NOT NULL;
        ALTER TABLE quality_alerts DROP CONSTRAINT quality_alerts_sku_batch_day_key;
        ALTER TABLE quality_alerts ADD CONSTRAINT quality_alerts_sku_day_key UNIQUE (sku, day);
        ALTER TABLE quality_alerts DROP COLUMN batch;
        DROP INDEX product_instances_sku_batch;
        ALTER TABLE product_instances DROP COLUMN batch;
    """)
