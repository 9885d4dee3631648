"""An accepted offer becomes an order the customer and the store follow.

- ``orders.fulfilment``: ``delivery`` (the steps so far: picked, shipped, out for delivery,
  delivered, maybe installed), ``pickup`` (picked = ready at the store, delivered = collected)
  or ``visit`` (a service: the technician's visit booked, done).
- ``orders.points_spent``: loyalty points the order was paid with (given back if cancelled).
- ``order_requests.order_id``: the order an accepted offer placed.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OFFER_ORDERS = """
ALTER TABLE orders
    ADD COLUMN fulfilment text NOT NULL DEFAULT 'delivery'
        CHECK (fulfilment IN ('delivery', 'pickup', 'visit')),
    ADD COLUMN points_spent integer NOT NULL DEFAULT 0 CHECK (points_spent >= 0);
ALTER TABLE order_requests
    ADD COLUMN order_id bigint UNIQUE REFERENCES orders(id) ON DELETE SET NULL;
"""


def upgrade() -> None:
    op.execute(OFFER_ORDERS)


def downgrade() -> None:
    op.execute("ALTER TABLE order_requests DROP COLUMN order_id; "
               "ALTER TABLE orders DROP COLUMN points_spent, DROP COLUMN fulfilment")
