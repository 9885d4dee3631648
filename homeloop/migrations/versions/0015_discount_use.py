"""A granted discount is taken off an order line, once: ``discounts.order_id``.

Until now an order line took any discount the caller named, around the assistants' budgets.
Now a line names a granted (or approved) discount for that customer and SKU, its amount is
what comes off, and the discount is used by that order (given back if it is cancelled).
Granted discounts not yet used are the customer's coupons.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE discounts "
               "ADD COLUMN order_id bigint REFERENCES orders(id) ON DELETE SET NULL; "
               "CREATE INDEX discounts_order ON discounts (order_id) WHERE order_id IS NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE discounts DROP COLUMN order_id")
