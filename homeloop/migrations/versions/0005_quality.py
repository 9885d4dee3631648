"""Fleet quality alerts: a SKU whose devices report more faults than usual.

- ``quality_alerts``: one row per SKU and day the daily scan found the last days' fault
  count significantly above the baseline (:mod:`replenishment.quality`). ``UNIQUE (sku,
  day)`` makes the scan idempotent: a rerun, a redelivered task or a second worker the same
  day adds nothing, and only the run that inserted the alert creates its quality offers.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

QUALITY = """
CREATE TABLE quality_alerts (
    id             bigserial PRIMARY KEY,
    sku            text NOT NULL REFERENCES skus(sku),
    -- the UTC date of window_end: one alert per SKU and daily scan
    day            date NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    faults         integer NOT NULL CHECK (faults >= 0),
    devices        integer NOT NULL CHECK (devices >= 0),
    -- faults per device-day, in the window and in the baseline before it
    rate           double precision NOT NULL,
    baseline_rate  double precision NOT NULL,
    expected       double precision NOT NULL,
    p_value        double precision NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sku, day)
);
CREATE INDEX quality_alerts_created ON quality_alerts (created_at DESC);
"""


def upgrade() -> None:
    op.execute(QUALITY)


def downgrade() -> None:
    op.execute("DROP TABLE quality_alerts")
