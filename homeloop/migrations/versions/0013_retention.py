"""Sales records outlive a deleted customer, without them.

A customer who has their data deleted takes their personal data with them, not the store's
books: ``orders`` (with their lines and steps), ``installation_ratings`` (an installer's
reputation must not change because a customer left) and ``discounts`` (an assistant's
monthly budget must not grow back) keep their rows with ``customer_id`` set to NULL
(``ON DELETE SET NULL``). What could identify the person in them — a rating's comment, a
step's actor — is cleared by :func:`identity.privacy.delete_customer`.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KEPT = ("orders", "installation_ratings", "discounts")


def _reference(table: str, on_delete: str, nullable: bool) -> str:
    return f"""
        ALTER TABLE {table} ALTER COLUMN customer_id {'DROP' if nullable else 'SET'} NOT NULL;
        ALTER TABLE {table} DROP CONSTRAINT {table}_customer_id_fkey;
        ALTER TABLE {table} ADD CONSTRAINT {table}_customer_id_fkey
            FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE {on_delete};
    """


def upgrade() -> None:
    for table in KEPT:
        op.execute(_reference(table, "SET NULL", nullable=True))


def downgrade() -> None:
    for table in KEPT:
        op.execute(f"DELETE FROM {table} WHERE customer_id IS NULL")
        op.execute(_reference(table, "CASCADE", nullable=False))
