"""SenML as the RFC says: anchors for tags without a clock, sums of interval metrics, and
the device state that strings, booleans and data values set (issue 13, part 1).

- ``senml_anchors``: when the gateway first received a tag's pack ``(device, seq)``. Times
  relative to "now" (RFC 8428 §4.5.3) are counted from it, whichever delivery of the pack
  is being read, so a redelivered pack keeps its times and its readings are stored once.
  Kept for ``max_backlog_age_days``: longer than the broker keeps a message for redelivery.
- ``sum_bounds``: per device and interval metric (``flow_l``), the earliest and the latest
  SenML sum received. Interval readings are the differences of consecutive sums outside
  the span between them: inside it every litre has been counted already.
- ``device_state``: the last value of each piece of state a tag reports (a door switch,
  its firmware), with its time; an older value arriving later changes nothing.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE senml_anchors (
    device_id    text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    seq          bigint NOT NULL CHECK (seq >= 0),
    anchored_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX senml_anchors_anchored_at ON senml_anchors (anchored_at);

CREATE TABLE sum_bounds (
    device_id   text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    metric      text NOT NULL,
    first_time  timestamptz NOT NULL,
    first_sum   double precision NOT NULL,
    last_time   timestamptz NOT NULL,
    last_sum    double precision NOT NULL,
    PRIMARY KEY (device_id, metric),
    CHECK (first_time <= last_time)
);

CREATE TABLE device_state (
    device_id  text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    key        text NOT NULL,
    value      jsonb NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (device_id, key)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE device_state, sum_bounds, senml_anchors")
