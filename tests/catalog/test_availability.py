"""One answer to "what can be had, where, and how soon", whichever path asks.

On the real database with the seed's stores: Shanghai Xuhui and Shanghai Pudong (about
11 km apart), Beijing (about 1,070 km away) and the online store (3 days).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from catalog import reach
from catalog.availability import AT_HOME, IN_STORE, availability, stocked_at
from clienteling import catalog as search
from clienteling import service as clienteling
from clienteling.store import store_today
from customers import store as customers
from devtools import layouts
from floorplans import service as floorplans
from floorplans import store as plans
from floorplans.schemas import DesignBody, Placement
from homeloop import clock
from homeloop.errors import Conflict
from homeloop.settings import Settings
from orders import service as orders
from orders.schemas import LineIn
from replenishment import offers

Conn = psycopg.Connection[tuple[Any, ...]]
SKU = "FLT-PP-1"  # a purifier's pre-filter: a consumable, placeable, recommended with it
STORES = ("SH-XUHUI", "SH-PUDONG", "BJ-SIYUAN", "ONLINE")


def today() -> date:
    """The stores' date at the test's instant."""
    return store_today(clock.now())


def set_stock(db: Conn, sku: str, **on_hand: int) -> None:
    """``on_hand`` by store (SH_XUHUI=12); stores not named have none (the next test's
    fixture puts the seed's stock back)."""
    for store in STORES:
        db.execute("UPDATE inventory SET on_hand = %s WHERE store_id = %s AND sku = %s",
                   (on_hand.get(store.replace("-", "_"), 0), store, sku))


@dataclass(frozen=True)
class Seen:
    """What one path answered for the line: where it comes from, and in how many days."""

    kind: str | None  # here, nearby, online; None: nowhere
    store_id: str | None
    days: int | None


def _seen(source: reach.Source | None) -> Seen:
    if source is None:
        return Seen(None, None, None)
    return Seen(source.kind, source.store_id, source.days)


def through_offers(db: Conn, km: float) -> Seen:
    """A Xuhui customer's purifier whose pre-filter is due: the offer the evaluation makes."""
    owner = customers.create_customer(db, "Li", locale="en", home_store_id="SH-XUHUI")
    purifier = customers.new_instance(db, "WP-500", f"TAG-{owner}", None)
    db.execute("UPDATE product_instances SET owner_id = %s, claimed_at = now() WHERE id = %s",
               (owner, purifier))
    now = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    db.execute("INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, "
               "rate_per_day, used, remaining, days_left, confidence, basis, data_days, "
               "prior_weight, cycle_start, computed_at, due_at, risk_from) VALUES (%s, %s, "
               "'consumable', 'flow_litres', 1, 10, 0.5, 0.5, 0.8, 'usage', 30, 0.05, %s, %s, "
               "%s, %s)", (purifier, SKU, now - timedelta(days=100), now,
                           now + timedelta(days=0.5), now + timedelta(days=0.5)))
    with db.transaction():
        offers.evaluate(db, now, offers.OfferRules(nearby_store_km=km))
    row = db.execute("SELECT fulfilment, store_id, lead_days FROM offers "
                     "WHERE customer_id = %s", (owner,)).fetchone()
    if row is None:
        return Seen(None, None, None)
    fulfilment, store_id, lead = row
    kind = {"delivery": "online"}.get(fulfilment, "here" if store_id == "SH-XUHUI" else "nearby")
    return Seen(kind, store_id, lead)


def through_recommendations(db: Conn, km: float) -> Seen:
    """An assistant at Xuhui, recommending what goes with a purifier."""
    recs = clienteling.recommend_for(db, ["WP-500"], ["WP-500"], "SH-XUHUI", today(),
                                     50, nearby_km=km)
    found = next((r for r in recs if r.sku == SKU), None)
    if found is None:
        return Seen(None, None, None)
    kind = IN_STORE[found.tier]
    return Seen(kind, found.store_id or "ONLINE", found.days)


def through_bill_of_materials(db: Conn, km: float) -> tuple[Seen, Seen]:
    """A kiosk at Xuhui: the bill of a design holding the line (the line, and all of it)."""
    owner = customers.create_customer(db, "Wang", home_store_id="SH-XUHUI")
    plan = plans.insert_plan(db, layouts.two_bedroom(), owner_id=owner, store_id=None,
                             source="json")
    design = floorplans.create_design(
        db, DesignBody(floor_plan_id=plan.id, placements=[
            Placement(id="filter", sku=SKU, position=(1.0, 1.0))]),
        owner_id=owner, store_id=None, author=f"customer:{owner}")
    bom = floorplans.bill_of_materials(db, design, "SH-XUHUI", nearby_km=km)
    [line] = bom.lines
    seen = [Seen(s.kind, s.store_id, s.days) if s else Seen(None, None, None)
            for s in (line.source, bom.all_at)]
    return seen[0], seen[1]


def through_an_order(db: Conn, km: float) -> Seen:
    """An assistant at Xuhui sells the line: who fulfils it, and the first delivery day."""
    owner = customers.create_customer(db, "Zhao", home_store_id="SH-XUHUI")
    now = clock.now()
    try:
        order_id = orders.place_order(db, owner, "SH-XUHUI", None, [LineIn(sku=SKU)], now,
                                      nearby_km=km)
    except Conflict:
        return Seen(None, None, None)
    order = orders.view(db, order_id)
    if not order.needs_slot:
        return Seen("here", order.fulfil_store_id, 0)
    first = orders.delivery_slots(db, order_id, now)[0].starts_at
    zone = ZoneInfo("Asia/Shanghai")
    days = (first.astimezone(zone).date() - now.astimezone(zone).date()).days
    kind = "online" if order.fulfil_store_id == "ONLINE" else "nearby"
    return Seen(kind, order.fulfil_store_id, days)


SCENARIOS = {
    # only Pudong (11 km) and Beijing (beyond the radius) have it: Pudong, in 1 + 1 days
    "nearby only": {"SH_PUDONG": 12, "BJ_SIYUAN": 12},
    "here": {"SH_XUHUI": 12, "SH_PUDONG": 12, "ONLINE": 12},
    "online only": {"ONLINE": 12, "BJ_SIYUAN": 12},
    "nowhere within reach": {"BJ_SIYUAN": 12},
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_same_lines_get_the_same_answer_through_every_path(
        db: Conn, settings: Settings, scenario: str) -> None:
    km = settings.nearby_store_km
    set_stock(db, SKU, **SCENARIOS[scenario])
    answer = availability(db, [(SKU, 1)], store_id="SH-XUHUI", nearby_km=km)
    at_home = availability(db, [(SKU, 1)], store_id="SH-XUHUI", nearby_km=km, at_store=False)
    expected = _seen(answer.line(SKU).best(IN_STORE))

    line, whole = through_bill_of_materials(db, km)
    recommended = through_recommendations(db, km)
    offered = through_offers(db, km)
    ordered = through_an_order(db, km)  # last: it takes the stock

    assert recommended == line == expected
    # the store with all of it: the order's fulfilment and the bill's, the nearest one
    assert ordered == whole == _seen(answer.all_at)
    # An offer reaches a customer at home: the catalog ranks home, online, then nearby
    # (the design brief's order), and what is here is set aside for them by tomorrow.
    assert offered == _seen(at_home.line(SKU).best(AT_HOME))
    if scenario == "nearby only":
        pudong = Seen("nearby", "SH-PUDONG", 2)
        assert expected == offered == ordered == pudong
    elif scenario == "here":
        assert expected == ordered == Seen("here", "SH-XUHUI", 0)
        assert offered == Seen("here", "SH-XUHUI", reach.SET_ASIDE_DAYS)
    elif scenario == "online only":
        assert expected == offered == ordered == Seen("online", "ONLINE", 3)
    else:
        assert expected == offered == ordered == Seen(None, None, None)


def test_sources_come_with_their_days_and_the_policy_decides_the_order(
        db: Conn, settings: Settings) -> None:
    set_stock(db, SKU, SH_PUDONG=12, ONLINE=12)
    found = availability(db, [(SKU, 1)], store_id="SH-XUHUI",
                         nearby_km=settings.nearby_store_km).line(SKU)
    assert _seen(found.here) == Seen(None, None, None)
    assert _seen(found.nearby) == Seen("nearby", "SH-PUDONG", 2)
    assert _seen(found.online) == Seen("online", "ONLINE", 3)
    assert found.best(IN_STORE).store_id == "SH-PUDONG"  # type: ignore[union-attr]
    assert found.best(AT_HOME).store_id == "ONLINE"  # type: ignore[union-attr]
    # two of it: Pudong has 12, but quantities count
    assert availability(db, [(SKU, 13)], store_id="SH-XUHUI",
                        nearby_km=settings.nearby_store_km).all_at is None


# --- the radius ---------------------------------------------------------------------

KM_PER_DEGREE = math.pi * reach.EARTH_RADIUS_KM / 180  # along a meridian


@pytest.fixture
def ring(db: Conn) -> Iterator[None]:
    """Two shops due north of Xuhui, 19.9 and 20.1 km away; the lamp only there."""
    xuhui = db.execute("SELECT lat, lon FROM stores WHERE id = 'SH-XUHUI'").fetchone()
    assert xuhui is not None
    for store, km in (("T-INSIDE", 19.9), ("T-BEYOND", 20.1)):
        db.execute("INSERT INTO stores (id, name, city, lat, lon) VALUES (%s, %s, 'Shanghai', "
                   "%s, %s)", (store, store, xuhui[0] + km / KM_PER_DEGREE, xuhui[1]))
        db.execute("INSERT INTO inventory (store_id, sku, on_hand) VALUES (%s, 'LAMP-TABLE', 5)",
                   (store,))
    set_stock(db, "LAMP-TABLE")
    yield
    db.execute("DELETE FROM inventory WHERE store_id LIKE 'T-%'")
    db.execute("DELETE FROM stores WHERE id LIKE 'T-%'")


def test_a_store_beyond_the_radius_is_never_nearby(db: Conn, settings: Settings,
                                                   ring: None) -> None:
    tight = settings.model_copy(update={"nearby_store_km": 20.0})
    km = tight.nearby_store_km
    found = availability(db, [("LAMP-TABLE", 1)], store_id="SH-XUHUI", nearby_km=km)
    assert [(s.store_id, round(s.km or 0, 1)) for s in found.reach if s.kind == "nearby"] == \
        [("SH-PUDONG", 10.9), ("T-INSIDE", 19.9)]
    assert _seen(found.line("LAMP-TABLE").nearby) == Seen("nearby", "T-INSIDE", 2)
    assert "T-INSIDE" in stocked_at(db, "nearby", "SH-XUHUI", km)
    assert "T-BEYOND" not in stocked_at(db, "nearby", "SH-XUHUI", km)
    lamps = search.SearchQuery(category="lamp", stock="nearby")
    assert "LAMP-TABLE" in {i["sku"] for i in search.search(db, lamps, "SH-XUHUI",
                                                            nearby_km=km)["items"]}
    recs = clienteling.recommend_for(db, ["SOFA-3-GREY"], [], "SH-XUHUI", today(), 50,
                                     nearby_km=km)
    assert ("LAMP-TABLE", "T-INSIDE", 2) in {(r.sku, r.store_id, r.days) for r in recs}

    # Only the store beyond has it: nobody offers, recommends, sells or bills it as nearby.
    db.execute("UPDATE inventory SET on_hand = 0 WHERE store_id = 'T-INSIDE'")
    found = availability(db, [("LAMP-TABLE", 1)], store_id="SH-XUHUI", nearby_km=km)
    assert found.line("LAMP-TABLE").best() is None and found.all_at is None
    assert "LAMP-TABLE" not in {i["sku"] for i in search.search(db, lamps, "SH-XUHUI",
                                                                nearby_km=km)["items"]}
    recs = clienteling.recommend_for(db, ["SOFA-3-GREY"], [], "SH-XUHUI", today(), 50,
                                     nearby_km=km)
    assert "LAMP-TABLE" not in {r.sku for r in recs}
    customer = customers.create_customer(db, "Sun", home_store_id="SH-XUHUI")
    with pytest.raises(Conflict):
        orders.place_order(db, customer, "SH-XUHUI", None, [LineIn(sku="LAMP-TABLE")],
                           clock.now(), nearby_km=km)

    # The setting decides: at the default 50 km both are nearby, the nearer first.
    wide = availability(db, [("LAMP-TABLE", 1)], store_id="SH-XUHUI",
                        nearby_km=settings.nearby_store_km)
    assert [s.store_id for s in wide.reach if s.kind == "nearby"] == \
        ["SH-PUDONG", "T-INSIDE", "T-BEYOND"]
    assert _seen(wide.line("LAMP-TABLE").nearby) == Seen("nearby", "T-BEYOND", 2)


# --- the rules, pure ------------------------------------------------------------------


def test_distance_days_and_reach() -> None:
    def store(sid: str, lat: float | None, lon: float | None, *, online: bool = False,
              lead: int = 0) -> reach.Store:
        return reach.Store(sid, sid, None, online, lat, lon, lead, "Asia/Shanghai")

    xuhui, pudong = store("X", 31.1886, 121.4365), store("P", 31.2213, 121.5440)
    online = store("O", None, None, online=True, lead=3)
    assert reach.distance_km(xuhui, pudong) == pytest.approx(10.85, abs=0.01)
    assert reach.distance_km(xuhui, online) is None
    assert reach.days("here", 0, 0.0, at_store=True) == 0
    assert reach.days("here", 0, 0.0, at_store=False) == 1
    assert reach.days("nearby", 0, 10.85, at_store=True) == 2
    assert reach.days("nearby", 0, 25.0, at_store=True) == 2
    assert reach.days("nearby", 1, 25.1, at_store=False) == 4
    assert reach.days("online", 3, None, at_store=True) == 3
    assert [(s.kind, s.store_id) for s in reach.reach([online, pudong, xuhui], "X", 50.0)] == \
        [("here", "X"), ("nearby", "P"), ("online", "O")]
    assert [s.store_id for s in reach.reach([online, pudong, xuhui], "X", 10.0)] == ["X", "O"]
    # no store to start from (or an online one): online only
    assert [s.store_id for s in reach.reach([online, pudong, xuhui], None, 50.0)] == ["O"]
    assert [s.store_id for s in reach.reach([online, pudong, xuhui], "O", 50.0)] == ["O"]
