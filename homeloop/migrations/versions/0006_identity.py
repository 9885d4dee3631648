"""Identity: who a customer is across channels, staff and kiosks, grants, consent, audit.

- ``customer_identities``: the ways one customer is recognised — their Firebase account, a
  member card, a phone number — stored only as keyed hashes (HMAC-SHA256 under the identity
  key) with a short hint ("•••• 5678") to show them. ``UNIQUE (kind, key_hash)``: one
  identity belongs to one customer; linking one that another record holds merges the records.
- ``phone_codes``: a code sent to a phone to prove it is the customer's; hashed, expiring,
  limited attempts.
- ``customer_merges``: which record was merged into which, by whom.
- ``staff_members``: a role and, for store assistants and managers, their store; an Argon2
  password hash.
- ``kiosks``: a store's kiosk with a secret (SHA-256 of 32 random bytes) exchanged for
  short-lived session tokens; revoking ends its sessions at once.
- ``kiosk_handoffs`` (a code a kiosk shows as a QR, claimed by the customer in the app) and
  ``kiosk_grants`` (what a kiosk may open: one customer, until it expires).
- ``store_consents``: a customer lets a store's assistants see their profile (history in
  ``consent_changes`` with channel ``store``); ``privacy_consents`` per purpose (history with
  channel ``privacy``).
- ``access_audit``: every read or change of a customer's data by staff or a kiosk.
- ``customers.points``: loyalty points, summed when records merge.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

IDENTITY = """
ALTER TABLE customers ADD COLUMN points bigint NOT NULL DEFAULT 0 CHECK (points >= 0);

CREATE TABLE customer_identities (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('firebase', 'member_card', 'phone')),
    key_hash     bytea NOT NULL,
    hint         text NOT NULL,
    proof        text NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, key_hash)
);
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);

CREATE TABLE phone_codes (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    phone_hash   bytea NOT NULL,
    code_hash    bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    used_at      timestamptz
);
CREATE INDEX phone_codes_customer ON phone_codes (customer_id, phone_hash);

CREATE TABLE customer_merges (
    id             bigserial PRIMARY KEY,
    from_customer  bigint NOT NULL,
    into_customer  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    by             text NOT NULL,
    moved          jsonb NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff_members (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name   text NOT NULL,
    role           text NOT NULL
                       CHECK (role IN ('assistant', 'store_manager', 'catalog_editor',
                                       'fleet_operator', 'admin')),
    store_id       text REFERENCES stores(id),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    CHECK (role NOT IN ('assistant', 'store_manager') OR store_id IS NOT NULL)
);

CREATE TABLE kiosks (
    id           bigserial PRIMARY KEY,
    store_id     text NOT NULL REFERENCES stores(id),
    name         text NOT NULL,
    secret_hash  bytea NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE TABLE kiosk_handoffs (
    code_hash    bytea PRIMARY KEY,
    kiosk_id     bigint NOT NULL REFERENCES kiosks(id),
    expires_at   timestamptz NOT NULL,
    claimed_by   bigint REFERENCES customers(id) ON DELETE CASCADE,
    claimed_at   timestamptz
);

CREATE TABLE kiosk_grants (
    id           bigserial PRIMARY KEY,
    kiosk_id     bigint NOT NULL REFERENCES kiosks(id),
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    via          text NOT NULL CHECK (via IN ('handoff', 'assistant')),
    granted_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX kiosk_grants_live ON kiosk_grants (kiosk_id, customer_id) WHERE ended_at IS NULL;

CREATE TABLE store_consents (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    store_id     text NOT NULL REFERENCES stores(id),
    granted      boolean NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, store_id)
);

CREATE TABLE privacy_consents (
    customer_id  bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('usage_analytics')),
    granted      boolean NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, purpose)
);

-- No foreign key: the entry outlives the customer, anonymised (customer_id NULL) on deletion.
CREATE TABLE access_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    role         text,
    store_id     text,
    customer_id  bigint,
    action       text NOT NULL,
    request_id   text
);
CREATE INDEX access_audit_customer ON access_audit (customer_id, at);
"""


def upgrade() -> None:
    op.execute(IDENTITY)


def downgrade() -> None:
    op.execute("""
        DROP TABLE access_audit, privacy_consents, store_consents, kiosk_grants, kiosk_handoffs,
            kiosks, staff_members, customer_merges, phone_codes, customer_identities;
        ALTER TABLE customers DROP COLUMN points;
    """)
