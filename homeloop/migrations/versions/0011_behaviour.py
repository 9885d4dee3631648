"""Behaviour a shop assistant sees: the customer's searches and their cart.

- ``customer_searches``: what a signed-in customer searched for (the words, the facets, how
  many results), written only with their consent to usage analytics.
- ``carts``: the customer's cart (app or kiosk): its items and where they would come from;
  one per customer.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BEHAVIOUR = """
CREATE TABLE customer_searches (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    query        text NOT NULL CHECK (length(query) <= 200),
    filters      jsonb NOT NULL DEFAULT '{}'::jsonb,
    results      integer NOT NULL CHECK (results >= 0),
    store_id     text REFERENCES stores(id),
    at           timestamptz NOT NULL
);
CREATE INDEX customer_searches_customer ON customer_searches (customer_id, at DESC);

CREATE TABLE carts (
    customer_id  bigint PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    items        jsonb NOT NULL,
    store_id     text REFERENCES stores(id),
    updated_at   timestamptz NOT NULL
);
"""


def upgrade() -> None:
    op.execute(BEHAVIOUR)


def downgrade() -> None:
    op.execute("DROP TABLE carts, customer_searches")
