"""The demo's shop floor is made once and shows what the issue promises."""

from __future__ import annotations

from typing import Any

from customers import store as customers
from devtools.demo.shop_floor import seed_clienteling
from homeloop.settings import Settings


def test_the_demo_shop_floor(db: Any, settings: Settings) -> None:
    owners = [customers.create_customer(db, n, home_store_id=s) for n, s in
              (("Li Wei", "SH-XUHUI"), ("Wang Fang", "SH-PUDONG"), ("Emma", "BJ-SIYUAN"))]
    ann = seed_clienteling(db, owners, nearby_km=settings.nearby_store_km)
    assert seed_clienteling(db, owners, nearby_km=settings.nearby_store_km) == ann  # once
    orders = db.execute("SELECT customer_id, status, fulfil_store_id, slot_starts_at IS NOT NULL "
                        "FROM orders ORDER BY id").fetchall()
    assert orders == [(owners[1], "installed", "SH-PUDONG", False),
                      (owners[0], "out_for_delivery", "SH-XUHUI", False),
                      (owners[0], "picked", "SH-PUDONG", True)]
    tasks = db.execute("SELECT kind, store_id FROM assistant_tasks").fetchall()
    assert tasks == [("low_rating", "SH-PUDONG")]
    tags = {r[0] for r in db.execute("SELECT tag FROM customer_tags WHERE customer_id = %s",
                                     (owners[0],))}
    assert {"new_home", "big_spender"} <= tags


def test_the_demo_tablet_signs_in_and_finds_its_customers(db: Any, settings: Settings) -> None:
    from devtools.demo.tablet import CARDS, PASSWORDS, seed_tablet
    from identity.customers import find_customer
    from identity.staff import authenticate

    owners = [customers.create_customer(db, n, home_store_id=s) for n, s in
              (("Li Wei", "SH-XUHUI"), ("Wang Fang", "SH-PUDONG"), ("Emma", "BJ-SIYUAN"))]
    seed_tablet(db, settings, owners)
    seed_tablet(db, settings, owners)  # again: nothing doubles, the passwords stay
    roles = {u: authenticate(db, u, p).role for u, p in PASSWORDS.items()}
    assert roles == {"demo-ann": "assistant", "demo-maya": "store_manager"}
    for owner, (card, phone) in zip((owners[0], owners[2]), CARDS, strict=True):
        assert find_customer(db, settings, "member_card", card) == owner
        assert find_customer(db, settings, "phone", phone) == owner
