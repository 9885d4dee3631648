"""Push delivery of offers: the customers' push tokens and the outbox.

- ``push_tokens``: one row per FCM registration token, which belongs to one app install and
  so to the customer signed in there last (registering it again moves it). A token FCM calls
  unregistered or invalid is kept with ``pruned_at`` and the reason, and is never sent to
  again; registering it again (the app says it is live) revives it.
- ``outbox``: one push per offer (``UNIQUE (offer_id)``), filled set-based from the offers
  that are ``pending`` and past ``deliver_after``. ``queued`` rows are claimed with
  ``FOR UPDATE SKIP LOCKED``; a send to at least one token makes it ``sent`` (and the offer
  ``sent``); transient FCM errors push ``next_attempt_at`` back exponentially until
  ``dead``; a customer without a live token makes it ``failed`` ('no push token') until they
  register one, which queues it again.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OUTBOX = """
CREATE TABLE push_tokens (
    id             bigserial PRIMARY KEY,
    customer_id    bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    token          text NOT NULL UNIQUE CHECK (length(token) BETWEEN 1 AND 4096),
    platform       text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    pruned_at      timestamptz,
    pruned_reason  text CHECK ((pruned_at IS NULL) = (pruned_reason IS NULL))
);
CREATE INDEX push_tokens_live ON push_tokens (customer_id) WHERE pruned_at IS NULL;

CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    offer_id         bigint NOT NULL UNIQUE REFERENCES offers(id) ON DELETE CASCADE,
    customer_id      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    -- what is pushed: {"title", "body", "data": {offer_id, kind, product_id}}
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'sent', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    fcm_message_ids  text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_failed ON outbox (customer_id) WHERE status = 'failed';
"""


def upgrade() -> None:
    op.execute(OUTBOX)


def downgrade() -> None:
    op.execute("DROP TABLE outbox, push_tokens")
