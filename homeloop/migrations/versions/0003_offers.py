"""Offers decided from the stored forecasts, and what keeps them from being spam.

- ``offer_kinds``: each kind's rules in one place, joined by the set-based statements
  (marketing kinds need the customer's consent; quality notices are exempt from the weekly
  cap and reach customers who opted out).
- ``offers``: one message to one customer: a replenishment (possibly a bundle of several
  consumables due the same week), a maintenance reminder, ... with its reason in both
  languages, where it is fulfilled, when it is due and expires, and its status. An offer over
  the cap, without consent or to an opted-out customer is kept as ``suppressed`` with the
  reason; one decided in quiet hours is ``deferred`` until ``deliver_after``.
- ``offer_lines``: what an offer covers, one row per instance, item and cycle. Its primary
  key is the rule "one offer per instance, kind and cycle": a cycle ends when the consumable
  is replaced (a new ``cycle_start``), so a dismissed or expired offer is not repeated, and a
  retry or a second worker adds nothing (``ON CONFLICT DO NOTHING``). ``offers`` carries the
  bundle's own key (its lines' keys) as ``UNIQUE (kind, cycle_key)`` for the insert itself.
- ``customer_consents`` (current) and ``consent_changes`` (history, append-only): consent per
  kind and channel. Quiet hours and the opt-out are columns of ``customers``.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OFFERS = """
CREATE TABLE offer_kinds (
    kind               text PRIMARY KEY,
    -- marketing messages need an explicit yes; service messages are sent until a no
    marketing          boolean NOT NULL,
    -- counts toward, and is held to, the per-customer weekly cap
    capped             boolean NOT NULL,
    -- reaches a customer who opted out of offers (a safety notice about their product)
    overrides_opt_out  boolean NOT NULL
);
INSERT INTO offer_kinds VALUES
    ('replenish',   false, true,  false),
    ('maintenance', false, true,  false),
    ('upsell',      true,  true,  false),
    ('crosssell',   true,  true,  false),
    ('points',      true,  true,  false),
    ('quality',     false, false, true);

ALTER TABLE customers
    ADD COLUMN quiet_start   time NOT NULL DEFAULT '22:00',
    ADD COLUMN quiet_end     time NOT NULL DEFAULT '08:00',
    ADD COLUMN opted_out_at  timestamptz;

CREATE TABLE customer_consents (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         text NOT NULL REFERENCES offer_kinds(kind),
    channel      text NOT NULL DEFAULT 'push' CHECK (channel IN ('push')),
    granted      boolean NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, kind, channel)
);

CREATE TABLE consent_changes (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    -- a kind, or '*' for the opt-out of every offer
    kind         text NOT NULL,
    channel      text NOT NULL,
    granted      boolean NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_changes_customer ON consent_changes (customer_id, at);

CREATE TABLE offers (
    id                 bigserial PRIMARY KEY,
    customer_id        bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    -- the product the offer is about (a bundle's first line)
    instance_id        bigint REFERENCES product_instances(id) ON DELETE CASCADE,
    kind               text NOT NULL REFERENCES offer_kinds(kind),
    item_skus          text[] NOT NULL,
    cycle_key          text NOT NULL,
    reason_en          text NOT NULL,
    reason_zh          text NOT NULL,
    fulfilment         text NOT NULL CHECK (fulfilment IN ('pickup', 'delivery', 'visit')),
    store_id           text REFERENCES stores(id),
    lead_days          integer NOT NULL CHECK (lead_days >= 0),
    due_at             timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'deferred',
                           'sent', 'opened', 'accepted', 'dismissed', 'expired', 'suppressed')),
    suppressed_reason  text CHECK ((status = 'suppressed') = (suppressed_reason IS NOT NULL)),
    deliver_after      timestamptz NOT NULL,
    decided_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, cycle_key)
);
CREATE INDEX offers_customer ON offers (customer_id, decided_at DESC);
-- the open ones, for expiry and (next) the outbox
CREATE INDEX offers_open ON offers (status, deliver_after)
    WHERE status IN ('pending', 'deferred', 'sent', 'opened');

CREATE TABLE offer_lines (
    offer_id     bigint NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    offer_kind   text NOT NULL REFERENCES offer_kinds(kind),
    instance_id  bigint NOT NULL REFERENCES product_instances(id) ON DELETE CASCADE,
    item_sku     text NOT NULL REFERENCES skus(sku),
    cycle_start  timestamptz NOT NULL,
    PRIMARY KEY (instance_id, offer_kind, item_sku, cycle_start)
);
CREATE INDEX offer_lines_offer ON offer_lines (offer_id);
"""


def upgrade() -> None:
    op.execute(OFFERS)


def downgrade() -> None:
    op.execute("""
        DROP TABLE offer_lines, offers, consent_changes, customer_consents;
        ALTER TABLE customers DROP COLUMN quiet_start, DROP COLUMN quiet_end,
            DROP COLUMN opted_out_at;
        DROP TABLE offer_kinds;
    """)
