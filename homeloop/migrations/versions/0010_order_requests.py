"""Accepted offers become order requests; the catalog relations the marketing offers need.

- ``order_requests``: one per accepted offer (``UNIQUE (offer_id)``: accepting again, or a
  retry, never makes a second), with how the customer wants it (pickup at a store, delivery,
  a technician's visit), the items, and the webhook's delivery state: ``queued`` (with
  ``next_attempt_at``), ``sent`` (with the order system's reference), ``dead`` (refused, or
  out of attempts, with the last error), and ``fitted_at`` once the product's timeline
  shows the new consumable in place.
- ``sku_related``: items that go with an item (descaler with coffee pods, rinse aid with
  dishwasher tablets), for cross-sell offers.
- ``skus.points_cost``: the loyalty points that redeem an item, for points offers.
- ``stores.name_zh``: a store's Chinese name, for offers worded in Chinese.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ORDER_REQUESTS = """
CREATE TABLE order_requests (
    id               bigserial PRIMARY KEY,
    offer_id         bigint NOT NULL UNIQUE REFERENCES offers(id) ON DELETE CASCADE,
    customer_id      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    fulfilment       text NOT NULL CHECK (fulfilment IN ('pickup', 'delivery', 'visit')),
    store_id         text REFERENCES stores(id),
    items            jsonb NOT NULL,
    ready_by         timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    external_ref     text,
    -- the new consumable was fitted: its forecast started a new cycle (an NFC tap on it,
    -- a "replaced" event, a counter reset)
    fitted_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX order_requests_due ON order_requests (next_attempt_at) WHERE status = 'queued';
CREATE INDEX order_requests_customer ON order_requests (customer_id);

CREATE TABLE sku_related (
    sku          text NOT NULL REFERENCES skus(sku),
    related_sku  text NOT NULL REFERENCES skus(sku),
    PRIMARY KEY (sku, related_sku),
    CHECK (sku <> related_sku)
);
ALTER TABLE skus ADD COLUMN points_cost integer CHECK (points_cost > 0);
ALTER TABLE stores ADD COLUMN name_zh text;
"""


def upgrade() -> None:
    op.execute(ORDER_REQUESTS)


def downgrade() -> None:
    op.execute("DROP TABLE order_requests, sku_related; "
               "ALTER TABLE skus DROP COLUMN points_cost; ALTER TABLE stores DROP COLUMN name_zh")
