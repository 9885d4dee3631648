"""The demo's shop floor: two stores' assistants, customers with a history, orders in flight.

Made once (the installer companies are the marker); the caller commits.

- Assistants ``demo-ann`` (Shanghai Xuhui) and ``demo-bo`` (Shanghai Pudong).
- The first customer let Xuhui in, is bound to Ann, moved in last month (300 mm rough-in,
  Nordic, a budget around ¥8,000), looked at sofas today, and has two orders: a toilet out
  for delivery from Xuhui, and a corner sofa Xuhui lacks, shipping from Pudong in a booked
  slot. The second customer let Pudong in; their toilet was installed and rated two stars
  with a leak: Bo has a follow-up task. A third order, closed, feeds the co-purchase counts.
- Installers of two companies; tags and co-purchase counts computed once.
"""

from __future__ import annotations

from datetime import timedelta

from clienteling import recs_store, service, store
from homeloop import clock
from homeloop.db import Conn
from identity.privacy import set_store_consent
from identity.staff import create_staff
from orders import service as orders
from orders.schemas import LineIn

__all__ = ["seed_clienteling"]


def _assistant(conn: Conn, username: str, name: str, store_id: str) -> str:
    found = conn.execute("SELECT id FROM staff_members WHERE username = %s",
                         (username,)).fetchone()
    staff_id = int(found[0]) if found else create_staff(conn, username, name, "assistant",
                                                        store_id)[0].id
    return f"staff:{staff_id}"


def seed_clienteling(conn: Conn, owners: list[int], *, nearby_km: float) -> int:
    """Seed the shop floor once; returns Ann's staff id (for a demo session)."""
    ann = _assistant(conn, "demo-ann", "Ann (Xuhui)", "SH-XUHUI")
    bo = _assistant(conn, "demo-bo", "Bo (Pudong)", "SH-PUDONG")
    ann_id = int(ann.removeprefix("staff:"))
    if conn.execute("SELECT 1 FROM installer_companies LIMIT 1").fetchone():
        return ann_id
    now = clock.now()
    for company, people in (("QuickFit Installations", ["Zhang Wei", "Chen Jing"]),
                            ("HomeCraft Services", ["Liu Yang"])):
        conn.execute("INSERT INTO installer_companies (name) VALUES (%s)", (company,))
        for person in people:
            conn.execute("INSERT INTO installers (company_id, name, store_id) SELECT id, %s, "
                         "NULL FROM installer_companies WHERE name = %s", (person, company))
    row = conn.execute("SELECT min(id) FROM installers").fetchone()
    assert row is not None
    installer = int(row[0])
    first, second = owners[0], owners[1]
    set_store_consent(conn, first, "SH-XUHUI", True)
    set_store_consent(conn, second, "SH-PUDONG", True)
    store.bind(conn, first, "SH-XUHUI", ann, now)
    store.bind(conn, second, "SH-PUDONG", bo, now)
    store.upsert_profile(conn, first, {
        "move_in_date": (now - timedelta(days=30)).date(), "rough_in_mm": 300,
        "home_style": "nordic", "budget_cents": 800_000, "age_band": "30-39",
        "city": "Shanghai", "household": "couple, one child", "tier": "gold"}, now)
    conn.execute("UPDATE customers SET points = 2400 WHERE id = %s", (first,))
    for sku in ("SOFA-3-GREY", "SOFA-CORNER", "SOFA-3-GREY", "LAMP-FLOOR"):
        store.add_view(conn, "demo-session-1", first, sku, "SH-XUHUI", now)
    store.add_note(conn, first, ann, "SH-XUHUI", "Wants the sofa before the family visit.", now)

    # A closed order first, so later ones are "new categories" for points.
    old = orders.place_order(conn, second, "SH-PUDONG", bo,
                             [LineIn(sku="WC-300"), LineIn(sku="FLT-WC-1")],
                             now - timedelta(days=20), nearby_km=nearby_km)
    for status in ("picked", "shipped", "out_for_delivery", "delivered"):
        orders.advance(conn, old, status, bo, now - timedelta(days=19))
    orders.advance(conn, old, "installation_booked", bo, now - timedelta(days=18),
                   installer_id=installer, install_at=now - timedelta(days=17))
    orders.advance(conn, old, "installed", bo, now - timedelta(days=17))
    orders.rate_installation(conn, second, old, 2, ["leak"], "Water on the floor after a day.",
                             now - timedelta(days=16))

    toilet = orders.place_order(conn, first, "SH-XUHUI", ann,
                                [LineIn(sku="WC-300"), LineIn(sku="LAMP-FLOOR")],
                                now - timedelta(days=3), nearby_km=nearby_km)
    for status in ("picked", "shipped", "out_for_delivery"):
        orders.advance(conn, toilet, status, ann, now - timedelta(hours=5))
    sofa = orders.place_order(conn, first, "SH-XUHUI", ann, [LineIn(sku="SOFA-CORNER")],
                              now - timedelta(days=1),  # not at Xuhui: from Pudong, a slot
                              nearby_km=nearby_km)
    orders.advance(conn, sofa, "picked", ann, now)
    slot = orders.delivery_slots(conn, sofa, now)[0]
    orders.book_slot(conn, sofa, slot.starts_at, ann, now)

    recs_store.refresh_copurchase(conn)
    service.refresh_tags(conn, owners, now)
    return ann_id
