"""A store asks a customer, on the spot, to let its assistants see their profile.

``consent_requests``: the store, the customer the assistant named by member QR or phone
number (NULL when nobody has it: the request is kept all the same, so that the assistant's
screen cannot tell whether a number belongs to a customer), who asked, until when it may be
answered, and the customer's answer (pending, granted, declined). The customer answers in
their app; granting sets ``store_consents``.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE consent_requests (
    id bigserial PRIMARY KEY,
    store_id text NOT NULL REFERENCES stores (id),
    customer_id bigint REFERENCES customers (id) ON DELETE CASCADE,
    asked_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'granted', 'declined')),
    answered_at timestamptz
);
CREATE INDEX consent_requests_pending ON consent_requests (customer_id, expires_at)
    WHERE status = 'pending';
""")


def downgrade() -> None:
    op.execute("DROP TABLE consent_requests")
