"""Forecasts per product instance: when each consumable runs out and each service falls due.

One row per instance, catalog item and kind, replaced by every forecast run (an upsert, so a
task that runs twice leaves the same rows). ``due_at`` is ``computed_at + days_left``, stored
so that "what runs out before a date" is an index scan for the offer rules that come next.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FORECASTS = """
CREATE TABLE instance_forecasts (
    instance_id     bigint NOT NULL REFERENCES product_instances(id) ON DELETE CASCADE,
    item_sku        text NOT NULL REFERENCES skus(sku),
    kind            text NOT NULL CHECK (kind IN ('consumable', 'service')),
    -- the timeline the forecast read; NULL for an item counted by time only
    metric          text,
    rate_per_day    double precision NOT NULL CHECK (rate_per_day >= 0),
    used            double precision NOT NULL,
    remaining       double precision,
    -- NULL: no end in sight (no use seen and no time limit)
    days_left       double precision CHECK (days_left >= 0),
    days_left_low   double precision,
    days_left_high  double precision,
    confidence      double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    basis           text NOT NULL CHECK (basis IN ('usage', 'time', 'none')),
    data_days       double precision NOT NULL,
    prior_weight    double precision NOT NULL CHECK (prior_weight BETWEEN 0 AND 1),
    -- when the current consumable was fitted (or the last service), as the forecast found it
    cycle_start     timestamptz NOT NULL,
    computed_at     timestamptz NOT NULL,
    due_at          timestamptz,
    PRIMARY KEY (instance_id, item_sku, kind)
);
CREATE INDEX instance_forecasts_due ON instance_forecasts (due_at);
"""


def upgrade() -> None:
    op.execute(FORECASTS)


def downgrade() -> None:
    op.execute("DROP TABLE instance_forecasts")
