"""Offers by the risk of running out, and what each household's answers teach.

- ``instance_forecasts``: the forecast's spreads (``daily_sd``, the spread of a day's use;
  ``rate_sd``, the uncertainty of the pace; both in metric units a day, 0 for a date the
  forecast is sure of), so that the offer rule can ask its distribution how likely the
  consumable is to be empty before a new one could be there; the 80 % interval of a whole
  pack's life at this pace (``pack_days_low``/``high``), which the offer quotes; and
  ``risk_from``, the earliest moment any threshold could call for an offer (where the risk
  of being empty reaches the lowest threshold allowed, 0.1 %), indexed: the offer rule reads
  the forecasts with ``risk_from`` within the slowest lead time, as it read ``due_at``.
- ``offers.status``: ``snoozed`` ("I still have some": kept, and still accepted) and
  ``already_bought``.
- ``household_timing``: per customer, product and item, what their answers and their own
  packs taught: the shift of their threshold, and the packs behind their pack factor (the
  share of the rated amount they get out of a pack); ``cycle_start`` is the last pack whose
  end was counted, so that a pack counts once.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE instance_forecasts
    ADD COLUMN daily_sd        double precision NOT NULL DEFAULT 0 CHECK (daily_sd >= 0),
    ADD COLUMN rate_sd         double precision NOT NULL DEFAULT 0 CHECK (rate_sd >= 0),
    ADD COLUMN pack_days_low   double precision,
    ADD COLUMN pack_days_high  double precision,
    ADD COLUMN risk_from       timestamptz;
UPDATE instance_forecasts SET risk_from = due_at;
CREATE INDEX instance_forecasts_risk_from ON instance_forecasts (risk_from);

ALTER TABLE offers DROP CONSTRAINT offers_status_check;
ALTER TABLE offers ADD CONSTRAINT offers_status_check CHECK (status IN (
    'pending', 'deferred', 'sent', 'opened', 'snoozed', 'accepted', 'dismissed',
    'already_bought', 'expired', 'suppressed'));

CREATE TABLE household_timing (
    customer_id      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    instance_id      bigint NOT NULL REFERENCES product_instances(id) ON DELETE CASCADE,
    item_sku         text NOT NULL REFERENCES skus(sku),
    -- standard normal units from the category's threshold; + is later
    threshold_shift  double precision NOT NULL DEFAULT 0,
    -- the pack factor is exp(log_pack_sum / (packs + 1))
    log_pack_sum     double precision NOT NULL DEFAULT 0,
    packs            integer NOT NULL DEFAULT 0 CHECK (packs >= 0),
    answers          integer NOT NULL DEFAULT 0 CHECK (answers >= 0),
    cycle_start      timestamptz,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (customer_id, instance_id, item_sku)
);
CREATE INDEX household_timing_instance ON household_timing (instance_id);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
        DROP TABLE household_timing;
        UPDATE offers SET status = 'opened' WHERE status = 'snoozed';
        UPDATE offers SET status = 'dismissed' WHERE status = 'already_bought';
        ALTER TABLE offers DROP CONSTRAINT offers_status_check;
        ALTER TABLE offers ADD CONSTRAINT offers_status_check CHECK (status IN ('pending',
            'deferred', 'sent', 'opened', 'accepted', 'dismissed', 'expired', 'suppressed'));
        DROP INDEX instance_forecasts_risk_from;
        ALTER TABLE instance_forecasts DROP COLUMN daily_sd, DROP COLUMN rate_sd,
            DROP COLUMN pack_days_low, DROP COLUMN pack_days_high, DROP COLUMN risk_from;
    """)
