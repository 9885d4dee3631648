"""What a clustered broker (EMQX) reads to check device credentials and topics.

EMQX's PostgreSQL authentication and authorisation run a query per connection (and per
topic not yet in its cache) instead of reading a file rendered from the whole fleet, so
provisioning or revoking one device costs the same at any fleet size. The queries are in
``deploy/emqx/emqx.conf``; they read only these views:

- ``broker_accounts``: accounts that are not devices (the gateway), with a hash in the same
  ``$7$`` format as ``devices.password_hash``; written by ``homeloop devices
  broker-accounts``.
- ``broker_credentials(username, password_hash, salt, is_superuser)``: one row per active
  device and per account. The stored ``$7$<iterations>$<salt b64>$<digest b64>`` is split
  into what EMQX's ``pbkdf2`` check wants: the derived key as lower-case hex and the salt as
  its raw bytes (``bytea``; EMQX passes the column's bytes to PBKDF2 as they are). A revoked
  device has no row, so EMQX refuses it.
- ``broker_acl(username, permission, action, topic)``: a device may publish only under
  ``tags/{its id}/`` and subscribe only to its own config; the gateway subscribes to every
  tag's readings, events and status (EMQX checks a shared subscription's topic without its
  ``$share/{group}/`` prefix) and publishes configs. A revoked device has no rows.

``homeloop_broker`` is the role EMQX signs in with: it may read these two views and nothing
else (a view runs with its owner's rights, so the role needs none on ``devices``). The role
is made here without a password when the deployment has not made it (deploy/scale makes it
with one before the first migration); it is shared by every database of the cluster, so the
downgrade takes its rights away and leaves it.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE broker_accounts (
    username       text PRIMARY KEY,
    password_hash  text NOT NULL CHECK (password_hash LIKE '$7$%'),
    role           text NOT NULL CHECK (role IN ('gateway')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW broker_credentials AS
WITH accounts AS (
    SELECT id AS username, password_hash FROM devices WHERE revoked_at IS NULL
    UNION ALL
    SELECT username, password_hash FROM broker_accounts
)
SELECT username,
       encode(decode(split_part(password_hash, '$', 5), 'base64'), 'hex') AS password_hash,
       decode(split_part(password_hash, '$', 4), 'base64') AS salt,
       false AS is_superuser
FROM accounts
WHERE split_part(password_hash, '$', 2) = '7';

CREATE VIEW broker_acl AS
SELECT d.id AS username, 'allow'::text AS permission, a.action, 'tags/' || d.id || a.suffix AS topic
FROM devices d
CROSS JOIN (VALUES ('publish', '/readings'), ('publish', '/events'), ('publish', '/status'),
                   ('subscribe', '/config')) AS a(action, suffix)
WHERE d.revoked_at IS NULL
UNION ALL
SELECT b.username, 'allow', g.action, g.topic
FROM broker_accounts b
CROSS JOIN (VALUES ('subscribe', 'tags/+/readings'), ('subscribe', 'tags/+/events'),
                   ('subscribe', 'tags/+/status'), ('publish', 'tags/+/config'),
                   ('subscribe', 'tags/+/config')) AS g(action, topic)
WHERE b.role = 'gateway';

DO $$
BEGIN
    CREATE ROLE homeloop_broker LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- the deployment made it (with its password), or another database of the cluster
END
$$;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO homeloop_broker', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO homeloop_broker;
GRANT SELECT ON broker_credentials, broker_acl TO homeloop_broker;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
        REVOKE ALL ON broker_credentials, broker_acl FROM homeloop_broker;
        DROP VIEW broker_acl;
        DROP VIEW broker_credentials;
        DROP TABLE broker_accounts;
    """)
