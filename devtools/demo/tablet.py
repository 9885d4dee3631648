"""The demo's shop assistant's tablet: who signs in, and customers to find.

- ``demo-ann`` (assistant, Shanghai Xuhui) and ``demo-maya`` (store manager, Xuhui) sign in
  with the passwords below (set again at every start, so the README's stay true).
- Li Wei (who let Xuhui in) has member code ``C-880000001`` and phone ``13800138001``;
  Emma Schultz (who has not) has ``C-880000003`` and ``13800138003``: the tablet is refused,
  asks her on the spot, and she confirms in her app (the demo prints how).
"""

from __future__ import annotations

from homeloop.db import Conn
from homeloop.settings import Settings
from identity.audit import Actor
from identity.customers import find_customer
from identity.linking import link_identity
from identity.staff import create_staff, set_password

__all__ = ["CARDS", "PASSWORDS", "seed_tablet"]

PASSWORDS = {"demo-ann": "demo-ann-2026", "demo-maya": "demo-maya-2026"}
# (member code, phone) of the first and the third demo customer
CARDS = [("C-880000001", "13800138001"), ("C-880000003", "13800138003")]


def _staff(conn: Conn, username: str, name: str, role: str, store_id: str) -> None:
    found = conn.execute("SELECT id FROM staff_members WHERE username = %s",
                         (username,)).fetchone()
    staff_id = int(found[0]) if found else create_staff(conn, username, name, role,
                                                        store_id)[0].id
    set_password(conn, staff_id, PASSWORDS[username])


def seed_tablet(conn: Conn, settings: Settings, owners: list[int]) -> None:
    """Passwords for Ann and Maya; member codes and phones for two customers (once)."""
    _staff(conn, "demo-ann", "Ann (Xuhui)", "assistant", "SH-XUHUI")
    _staff(conn, "demo-maya", "Maya (Xuhui manager)", "store_manager", "SH-XUHUI")
    for customer, (card, phone) in zip((owners[0], owners[2]), CARDS, strict=True):
        for kind, value in (("member_card", card), ("phone", phone)):
            if find_customer(conn, settings, kind, value) is None:
                link_identity(conn, settings, customer, kind, value,  # type: ignore[arg-type]
                              proof="demo", by=Actor("demo"))
