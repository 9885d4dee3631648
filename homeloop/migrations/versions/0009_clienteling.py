"""Clienteling and orders: what a shop assistant sees and does, and orders followed home.

Orders (``orders/``):

- ``orders`` and ``order_lines``: sold at a store (``store_id``) by an assistant (their actor,
  ``staff:<id>``), fulfilled from ``fulfil_store_id`` (the selling store when it has every
  line, else the nearest store that does, else online); ``status`` is the last of
  ``order_events``, which keep every step in order (``seq``). ``needs_slot``: the selling
  store lacked stock, so a delivery slot is booked (``delivery_slots``, capacity per
  window of the fulfilling store, booked with ``booked < capacity``).
- ``installer_companies``, ``installers``; ``installation_ratings``: one per order, stars
  and a checklist of problems. Reputation is computed from them (a Bayesian average).
- ``outbox`` gains transactional rows: ``offer_id`` may be null when ``topic`` names the
  message (``order:<id>:<status>``, unique: each is sent once).
- ``assistant_inbox``: what the assistant who sold an order is told about it.

Clienteling (``clienteling/``):

- ``customer_profiles`` (demographic, membership and home facts an assistant or the
  customer records), ``customer_tags`` (``rule`` tags computed from data, ``manual`` ones an
  assistant adds), ``customer_notes``, ``tag_queue`` (customers whose data changed, for the
  incremental tag task).
- ``product_views``: a product's QR scanned in a store, under an anonymous session until the
  customer signs in (then joined); ``assistant_bindings``: the customer scanned an
  assistant's QR. ``sku_copurchase``: counts of SKUs bought together, refreshed by a task.
- ``assistant_tasks``: the assistant's day (follow-ups, call-backs, low ratings, due
  maintenance), unique per kind and subject so a rerun adds nothing.
- ``assistant_budgets``, ``discounts`` (with ``discount_events`` as the audit trail) and
  ``points_awards`` (one per customer and category: first purchase in a new category).
- ``skus.cost_cents`` (null: the grade's default margin), and ``skus.search_text`` (the
  English name, the Chinese name, the colours, material and style, lower-cased, generated)
  with a trigram index for free-text search (``pg_trgm``: PostgreSQL's default text search
  parser does not split Chinese).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ORDERS = """
CREATE TABLE installer_companies (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL UNIQUE
);

CREATE TABLE installers (
    id          bigserial PRIMARY KEY,
    company_id  bigint NOT NULL REFERENCES installer_companies(id),
    name        text NOT NULL,
    store_id    text REFERENCES stores(id)
);

CREATE TABLE orders (
    id               bigserial PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    store_id         text NOT NULL REFERENCES stores(id),
    assistant        text,
    fulfil_store_id  text NOT NULL REFERENCES stores(id),
    needs_slot       boolean NOT NULL DEFAULT false,
    slot_starts_at   timestamptz,
    slot_ends_at     timestamptz,
    installer_id     bigint REFERENCES installers(id),
    install_at       timestamptz,
    status           text NOT NULL DEFAULT 'placed' CHECK (status IN (
        'placed', 'picked', 'shipped', 'out_for_delivery', 'delivered',
        'installation_booked', 'installed', 'closed', 'cancelled')),
    total_cents      bigint NOT NULL CHECK (total_cents >= 0),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, created_at DESC);
CREATE INDEX orders_assistant ON orders (assistant) WHERE status NOT IN ('closed', 'cancelled');

CREATE TABLE order_lines (
    order_id          bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no           integer NOT NULL,
    sku               text NOT NULL REFERENCES skus(sku),
    quantity          integer NOT NULL CHECK (quantity > 0),
    unit_price_cents  integer NOT NULL CHECK (unit_price_cents >= 0),
    discount_cents    integer NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_sku ON order_lines (sku);

CREATE TABLE order_events (
    order_id  bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    status    text NOT NULL,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    data      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE delivery_slots (
    store_id   text NOT NULL REFERENCES stores(id),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    capacity   integer NOT NULL CHECK (capacity >= 0),
    booked     integer NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    PRIMARY KEY (store_id, starts_at)
);

CREATE TABLE installation_ratings (
    order_id      bigint PRIMARY KEY REFERENCES orders(id) ON DELETE CASCADE,
    customer_id   bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    installer_id  bigint NOT NULL REFERENCES installers(id),
    stars         integer NOT NULL CHECK (stars BETWEEN 1 AND 5),
    problems      text[] NOT NULL DEFAULT '{}',
    comment       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL
);
CREATE INDEX installation_ratings_installer ON installation_ratings (installer_id);

CREATE TABLE assistant_inbox (
    id           bigserial PRIMARY KEY,
    assistant    text NOT NULL,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    order_id     bigint REFERENCES orders(id) ON DELETE CASCADE,
    topic        text NOT NULL UNIQUE,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    read_at      timestamptz
);
CREATE INDEX assistant_inbox_unread ON assistant_inbox (assistant) WHERE read_at IS NULL;
CREATE INDEX assistant_inbox_customer ON assistant_inbox (customer_id);
CREATE INDEX installation_ratings_customer ON installation_ratings (customer_id);

ALTER TABLE outbox ALTER COLUMN offer_id DROP NOT NULL,
    ADD COLUMN topic text UNIQUE,
    ADD CONSTRAINT outbox_offer_or_topic CHECK (offer_id IS NOT NULL OR topic IS NOT NULL);
"""

CLIENTELING = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE skus ADD COLUMN cost_cents integer CHECK (cost_cents >= 0),
    -- what free text is matched against, computed once per row rather than per query
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(name) || ' ' || name_zh || ' ' || lower(coalesce(attrs ->> 'colours', '')) || ' '
        || lower(coalesce(attrs ->> 'material', '')) || ' '
        || lower(coalesce(attrs ->> 'style', ''))) STORED;
CREATE INDEX skus_search_trgm ON skus USING gin (search_text gin_trgm_ops);
CREATE INDEX skus_price ON skus (price_cents);
-- availability by SKU across stores (the primary key leads with the store)
CREATE INDEX inventory_sku ON inventory (sku, store_id) WHERE on_hand > 0;

CREATE TABLE customer_profiles (
    customer_id     bigint PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    birthday        date,
    age_band        text,
    city            text,
    household       text,
    tier            text NOT NULL DEFAULT 'member',
    channels        text[] NOT NULL DEFAULT '{push}',
    move_in_date    date,
    floor_plan_id   bigint REFERENCES floor_plans(id) ON DELETE SET NULL,
    rough_in_mm     integer CHECK (rough_in_mm > 0),
    home_style      text,
    budget_cents    bigint CHECK (budget_cents >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_tags (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag          text NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
    source       text NOT NULL CHECK (source IN ('rule', 'manual')),
    reason       text NOT NULL DEFAULT '',
    added_by     text NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (customer_id, source, tag)
);

CREATE TABLE customer_notes (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    author       text NOT NULL,
    store_id     text REFERENCES stores(id),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at   timestamptz NOT NULL
);
CREATE INDEX customer_notes_customer ON customer_notes (customer_id, created_at DESC);

CREATE TABLE tag_queue (
    customer_id  bigint PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    since        timestamptz NOT NULL
);

CREATE TABLE product_views (
    id           bigserial PRIMARY KEY,
    session_id   text NOT NULL CHECK (length(session_id) BETWEEN 8 AND 64),
    customer_id  bigint REFERENCES customers(id) ON DELETE CASCADE,
    sku          text NOT NULL REFERENCES skus(sku),
    store_id     text REFERENCES stores(id),
    at           timestamptz NOT NULL
);
CREATE INDEX product_views_customer ON product_views (customer_id, at DESC);
CREATE INDEX product_views_session ON product_views (session_id) WHERE customer_id IS NULL;

CREATE TABLE assistant_bindings (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    store_id     text NOT NULL REFERENCES stores(id),
    assistant    text NOT NULL,
    bound_at     timestamptz NOT NULL,
    PRIMARY KEY (customer_id, store_id)
);
CREATE INDEX assistant_bindings_assistant ON assistant_bindings (assistant);

CREATE TABLE sku_copurchase (
    sku        text NOT NULL REFERENCES skus(sku),
    other_sku  text NOT NULL REFERENCES skus(sku),
    n          integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (sku, other_sku)
);

CREATE TABLE assistant_tasks (
    id           bigserial PRIMARY KEY,
    store_id     text NOT NULL REFERENCES stores(id),
    assistant    text,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('low_rating', 'offer_follow_up',
                                               'quality_call', 'maintenance_due')),
    subject      text NOT NULL,
    body         text NOT NULL,
    due_at       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    done_at      timestamptz,
    UNIQUE (kind, subject)
);
CREATE INDEX assistant_tasks_open ON assistant_tasks (store_id, due_at) WHERE done_at IS NULL;
CREATE INDEX assistant_tasks_customer ON assistant_tasks (customer_id);

CREATE TABLE assistant_budgets (
    assistant     text NOT NULL,
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    budget_cents  bigint NOT NULL CHECK (budget_cents >= 0),
    PRIMARY KEY (assistant, month)
);

CREATE TABLE discounts (
    id                bigserial PRIMARY KEY,
    assistant         text NOT NULL,
    store_id          text NOT NULL REFERENCES stores(id),
    customer_id       bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    sku               text NOT NULL REFERENCES skus(sku),
    kind              text NOT NULL CHECK (kind IN ('discount', 'gift')),
    amount_cents      bigint NOT NULL CHECK (amount_cents > 0),
    month             date NOT NULL,
    status            text NOT NULL CHECK (status IN ('granted', 'pending_approval',
                                                      'approved', 'rejected')),
    created_at        timestamptz NOT NULL,
    decided_by        text,
    decided_at        timestamptz
);
CREATE INDEX discounts_budget ON discounts (assistant, month);
CREATE INDEX discounts_customer ON discounts (customer_id);

CREATE TABLE discount_events (
    id           bigserial PRIMARY KEY,
    discount_id  bigint NOT NULL REFERENCES discounts(id) ON DELETE CASCADE,
    actor        text NOT NULL,
    action       text NOT NULL,
    at           timestamptz NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE points_awards (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    category     text NOT NULL,
    order_id     bigint REFERENCES orders(id) ON DELETE SET NULL,
    points       integer NOT NULL CHECK (points > 0),
    at           timestamptz NOT NULL,
    PRIMARY KEY (customer_id, category)
);
"""


def upgrade() -> None:
    op.execute(ORDERS)
    op.execute(CLIENTELING)


def downgrade() -> None:
    op.execute("""
        DROP TABLE points_awards, discount_events, discounts, assistant_budgets,
            assistant_tasks, sku_copurchase, assistant_bindings, product_views, tag_queue,
            customer_notes, customer_tags, customer_profiles;
        DROP INDEX skus_search_trgm, skus_price, inventory_sku;
        ALTER TABLE skus DROP COLUMN cost_cents, DROP COLUMN search_text;
        DELETE FROM outbox WHERE offer_id IS NULL;
        ALTER TABLE outbox DROP CONSTRAINT outbox_offer_or_topic, DROP COLUMN topic,
            ALTER COLUMN offer_id SET NOT NULL;
        DROP TABLE assistant_inbox, installation_ratings, delivery_slots, order_events,
            order_lines, orders, installers, installer_companies;
    """)
