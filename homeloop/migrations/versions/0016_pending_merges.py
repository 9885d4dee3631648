"""Merges need both customers' proof, and can be undone: pending merges, recorded merges.

Until now linking an identity (member card, phone, app account) that another customer record
held merged that record into this one at once, deleting it (issue 19: an assistant could take
over someone else's account by linking their card). Now:

- ``merge_requests``: a merge waiting for both customers' proof — each side confirms in their
  own app, or with a one-time code sent to a phone verified on their record (the codes are
  ``phone_codes`` rows naming the request). Pending until both confirmed, declined, or expired.
- ``customers.merged_into``: a merged record is kept, marked, rather than deleted, so that the
  merge can be undone; its identities moved to the survivor, so its sign-ins open that one.
  Deleting the survivor deletes the records merged into it.
- ``customer_merges`` records everything needed to undo: each moved row (table, column and
  primary key), each row deleted as a duplicate (as JSON, to insert again), the points moved,
  the home store taken over; and when it was undone, by whom.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE customers
    ADD COLUMN merged_into bigint REFERENCES customers(id) ON DELETE CASCADE,
    ADD COLUMN merged_at timestamptz,
    ADD CONSTRAINT customers_not_merged_into_self CHECK (merged_into <> id);
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;

ALTER TABLE customer_merges
    ADD COLUMN request_id bigint,
    ADD COLUMN moved_rows jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN deleted_rows jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN points bigint NOT NULL DEFAULT 0,
    ADD COLUMN home_store_id text,
    ADD COLUMN undone_at timestamptz,
    ADD COLUMN undone_by text,
    ADD COLUMN undone jsonb;
CREATE INDEX customer_merges_from ON customer_merges (from_customer);

CREATE TABLE merge_requests (
    id                 bigserial PRIMARY KEY,
    into_customer      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    from_customer      bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN ('firebase', 'member_card', 'phone')),
    hint               text NOT NULL,
    requested_by       text NOT NULL,
    store_id           text REFERENCES stores(id),
    status             text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'merged', 'declined', 'cancelled')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    into_confirmed_at  timestamptz,
    into_confirmed_via text,
    from_confirmed_at  timestamptz,
    from_confirmed_via text,
    codes_sent         integer NOT NULL DEFAULT 0,
    decided_at         timestamptz,
    decided_by         text,
    merge_id           bigint REFERENCES customer_merges(id) ON DELETE SET NULL,
    CHECK (into_customer <> from_customer)
);
CREATE INDEX merge_requests_into ON merge_requests (into_customer) WHERE status = 'pending';
CREATE INDEX merge_requests_from ON merge_requests (from_customer) WHERE status = 'pending';

ALTER TABLE phone_codes
    ADD COLUMN merge_request_id bigint REFERENCES merge_requests(id) ON DELETE CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
        ALTER TABLE phone_codes DROP COLUMN merge_request_id;
        DROP TABLE merge_requests;
        ALTER TABLE customer_merges DROP COLUMN request_id, DROP COLUMN moved_rows,
            DROP COLUMN deleted_rows, DROP COLUMN points, DROP COLUMN home_store_id,
            DROP COLUMN undone_at, DROP COLUMN undone_by, DROP COLUMN undone;
        DROP INDEX IF EXISTS customer_merges_from;
        DELETE FROM customers WHERE merged_into IS NOT NULL;
        ALTER TABLE customers DROP COLUMN merged_into, DROP COLUMN merged_at;
    """)
