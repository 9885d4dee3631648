"""A merged RoomPlan export (``CapturedStructure``) imported room by room.

The export is :func:`devtools.captures.two_storey_home`, built to Apple's documented schema
(the module's docstring says from what): a kitchen and a living room sharing a wall with an
open door, a bathroom behind the living room, the front door with a window above it, two
windows stacked in the kitchen's west wall, two bedrooms upstairs sharing a wall, the second
bedroom's east side never scanned, and its open passage to the balcony.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Polygon

from customers import store as customers
from devtools.captures import two_storey_home
from floorplans.checks import run_all
from floorplans.geometry import Product
from floorplans.roomplan import parse_plan
from floorplans.schemas import FloorPlan, Opening, Placement, Room, Wall
from homeloop.settings import Settings
from tests.api.conftest import auth

Db = psycopg.Connection[tuple[Any, ...]]
# (name, Chinese name, RoomPlan label, storey, m² of its own floor outline)
ROOMS = [("Kitchen", "厨房", "kitchen", 0, 14.0), ("Living room", "客厅", "livingRoom", 0, 17.08),
         ("Bathroom", "卫生间", "bathroom", 0, 5.66), ("Bedroom 1", "卧室1", "bedroom", 1, 18.0),
         ("Bedroom 2", "卧室2", "bedroom", 1, 17.52)]


def export(own_lists: bool = True) -> dict[str, Any]:
    """As it arrives: JSON text, decoded."""
    doc: dict[str, Any] = json.loads(json.dumps(two_storey_home().structure(own_lists)))
    return doc


def room(plan: FloorPlan, name: str) -> Room:
    return next(r for r in plan.rooms if r.name == name)


def between(plan: FloorPlan, a: str, b: str) -> list[Wall]:
    """The walls that separate rooms ``a`` and ``b``: along both outlines, within 15 cm."""
    ra, rb = room(plan, a), room(plan, b)
    pa, pb = Polygon(ra.polygon), Polygon(rb.polygon)
    return [w for w in plan.walls if w.storey == ra.storey == rb.storey
            and LineString([w.start, w.end]).distance(pa) < 0.15
            and LineString([w.start, w.end]).distance(pb) < 0.15
            and LineString([w.start, w.end]).intersection(pa.buffer(0.15)).length > 0.5
            and LineString([w.start, w.end]).intersection(pb.buffer(0.15)).length > 0.5]


@pytest.mark.parametrize("own_lists", [True, False], ids=["structure-lists", "rooms-only"])
def test_every_room_with_its_outline_label_and_storey(own_lists: bool) -> None:
    doc = export(own_lists)
    plan = parse_plan(doc)
    got = [(r.name, r.name_zh, r.label, r.storey, round(Polygon(r.polygon).area, 2))
           for r in plan.rooms]
    assert sorted(got) == sorted(ROOMS)
    # not the structure's own floor outline (one per storey, over walls and gaps: 81 m² and
    # 36 m²), and not one "Room"
    assert round(sum(Polygon(r.polygon).area for r in plan.rooms), 2) == 72.26
    # the bathroom's toilet: its drain 40 cm from the wall behind it
    drain = next(f for f in plan.fixtures if f.kind == "drain")
    assert drain.source == "roomplan:toilet" and drain.wall_distance == pytest.approx(0.4)


@pytest.mark.parametrize("own_lists", [True, False], ids=["structure-lists", "rooms-only"])
def test_walls_two_rooms_share_are_one_wall(own_lists: bool) -> None:
    plan = parse_plan(export(own_lists))
    for a, b in (("Kitchen", "Living room"), ("Living room", "Bathroom"),
                 ("Bedroom 1", "Bedroom 2")):
        assert len(between(plan, a, b)) == 1, (a, b)
    # 4 + 3 + 3 walls downstairs (kitchen, living room, bathroom), 4 + 2 upstairs
    assert len(plan.walls) == 16
    [shared] = between(plan, "Kitchen", "Living room")
    # on the wall's line between the two rooms (x 4.00 and 4.12), not moved into either
    assert shared.start[0] == pytest.approx(4.06, abs=0.01)


@pytest.mark.parametrize("own_lists", [True, False], ids=["structure-lists", "rooms-only"])
def test_every_door_and_window_including_above_a_door_and_stacked(own_lists: bool) -> None:
    plan = parse_plan(export(own_lists))
    kinds = sorted(o.kind for o in plan.openings)
    assert kinds == ["door"] * 4 + ["opening"] + ["window"] * 6
    [inner] = [o for o in plan.openings if o.wall_id == between(plan, "Kitchen",
                                                                  "Living room")[0].id]
    assert (inner.kind, inner.is_open, inner.width) == ("door", True, 0.8)
    front_wall = next(o.wall_id for o in plan.openings if o.kind == "door" and o.width == 0.95)
    front = sorted((o for o in plan.openings if o.wall_id == front_wall), key=lambda o: o.sill)
    assert [(o.kind, o.is_open) for o in front] == [("door", False), ("window", None)]
    assert front[1].sill >= front[0].height  # the fanlight is above the door, kept
    assert front[1].offset == pytest.approx(front[0].offset, abs=0.01)
    stacked = [o for o in plan.openings if o.kind == "window" and o.width == 0.9]
    assert sorted((o.sill, o.height) for o in stacked) == [(0.4, 0.9), (1.5, 0.8)]
    assert len({o.wall_id for o in stacked}) == 1
    assert not any("overlaps" in note for note in plan.notes)


@pytest.mark.parametrize("own_lists", [True, False], ids=["structure-lists", "rooms-only"])
def test_an_outline_without_walls_along_it_is_an_unscanned_side(own_lists: bool) -> None:
    plan = parse_plan(export(own_lists))
    flagged = {r.name: r.unscanned for r in plan.rooms if r.unscanned}
    assert list(flagged) == ["Bedroom 2"]
    [(start, end)] = flagged["Bedroom 2"]
    assert start[0] == end[0] == 9.0  # its east side
    assert abs(end[1] - start[1]) == pytest.approx(3.7, abs=0.05)
    assert plan.notes == ["Bedroom 2: 3.7 m of its outline has no wall along it (a side the "
                          "scan did not cover)"]


PRODUCTS = {
    "SOFA": Product("SOFA", "3-seat sofa", "sofa", 2000, 880, 780),
    "LAMP": Product("LAMP", "floor lamp", "lamp", 420, 420, 1810),
    "WARDROBE": Product("WARDROBE", "wardrobe, assembled", "wardrobe", 1500, 830, 2010,
                        (1560, 860, 2080)),
}


def messages(plan: FloorPlan, *placements: Placement, check: str) -> list[str]:
    return [f.message for f in run_all(plan, list(placements), PRODUCTS, "en")
            if f.check == check]


def test_check_messages_name_the_room_and_the_item() -> None:
    plan = parse_plan(export())
    # the kitchen's door to the living room opens into the kitchen; a lamp behind it
    assert messages(plan, Placement(id="lamp", sku="LAMP", position=(3.6, 1.9)),
                    check="door_swing") == [
        "The lamp blocks the swing of the door from the living room to the kitchen: the door "
        "cannot open fully."]
    grey = Placement(id="a", sku="SOFA", variant="grey", position=(6.5, 1.0))
    beige = Placement(id="b", sku="SOFA", variant="beige", position=(6.8, 1.2))
    assert messages(plan, grey, beige, check="product_overlap") == [
        "The grey sofa and the beige sofa overlap."]
    # two alike: told apart by their rooms, then by their order
    apart = [Placement(id="k", sku="SOFA", position=(2.0, 3.3)),
             Placement(id="l", sku="SOFA", position=(6.5, 3.3))]
    assert messages(plan, *apart, check="wall_overlap") == [
        "The sofa in the kitchen runs into a wall of the kitchen; move it away from the wall.",
        "The sofa in the living room runs into a wall of the living room; move it away from "
        "the wall."]
    same = [Placement(id="x", sku="SOFA", position=(6.5, 1.0)),
            Placement(id="y", sku="SOFA", position=(6.8, 1.2))]
    assert messages(plan, *same, check="product_overlap") == [
        "The first sofa and the second sofa overlap."]
    # upstairs: the wardrobe's box will not pass the door into the second bedroom
    wardrobe = Placement(id="w", sku="WARDROBE", position=(7.0, 3.5), rotation=180, storey=1)
    assert messages(plan, wardrobe, check="delivery") == [
        "The boxed wardrobe (208 × 156 × 86 cm) will not fit through the door from Bedroom 1 "
        "to Bedroom 2, which is 80 cm wide."]


def test_twelve_doors_are_twelve_doors() -> None:
    """Two doors between the same two rooms are told apart by their order."""
    rooms = [Room(id="a", name="Kitchen", polygon=[(0, 0), (4, 0), (4, 4), (0, 4)]),
             Room(id="b", name="Hall", polygon=[(4.1, 0), (8, 0), (8, 4), (4.1, 4)])]
    wall = Wall(id="w", start=(4.05, 0), end=(4.05, 4))
    doors = [Opening(id=f"d{i}", wall_id="w", kind="door", offset=offset, width=0.8,
                     height=2.0) for i, offset in enumerate((1.0, 3.0))]
    plan = FloorPlan(rooms=rooms, walls=[wall], openings=doors)
    lamps = [Placement(id=f"lamp{i}", sku="LAMP", position=(3.6, offset))
             for i, offset in enumerate((0.9, 2.9))]
    assert messages(plan, *lamps, check="door_swing") == [
        "The first lamp blocks the swing of the first door from the hall to the kitchen: the "
        "door cannot open fully.",
        "The second lamp blocks the swing of the second door from the hall to the kitchen: "
        "the door cannot open fully."]


def test_a_merged_export_over_http(client: TestClient, settings: Settings, db: Db) -> None:
    h = auth(settings, customers.create_customer(db, "Lin"))
    r = client.post("/v1/floorplans", headers=h, content=json.dumps(export()),
                    params={"name": "Two storeys"})
    assert r.status_code == 201, r.text
    info = r.json()
    assert (info["source"], info["rooms"], info["area_m2"]) == ("roomplan", 5, 72.26)
    plan = client.get(f"/v1/floorplans/{info['id']}/plan.json", headers=h).json()
    assert [(p["name"], p["name_zh"]) for p in plan["rooms"]] == [(n, z) for n, z, *_ in ROOMS]
    # our JSON imports back to the same plan
    again = client.post("/v1/floorplans", headers=h, json=plan)
    assert again.status_code == 201
    assert client.get(f"/v1/floorplans/{again.json()['id']}/plan.json",
                      headers=h).json() == plan
