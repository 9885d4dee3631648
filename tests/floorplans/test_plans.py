"""Floor plan model, validation, the RoomPlan importer and our own JSON (pure)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shapely.geometry import Polygon

from floorplans.roomplan import parse_plan
from floorplans.schemas import FloorPlan
from homeloop.errors import InvalidInput
from homeloop.settings import PROJECT_ROOT

SAMPLE = PROJECT_ROOT.parent / "shared" / "samples" / "roomplan" / \
    "dining_room.capturedRoom.json"


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    if not SAMPLE.exists():
        pytest.skip(f"the RoomPlan sample is not beside the project ({SAMPLE})")
    doc: dict[str, Any] = json.loads(Path(SAMPLE).read_text())
    return doc


def shoelace(corners: list[list[float]]) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1]
                   for a, b in zip(corners, corners[1:] + corners[:1], strict=True))) / 2


def test_roomplan_sample(export: dict[str, Any]) -> None:
    plan = parse_plan(export)
    assert len(plan.rooms) == 1 and plan.rooms[0].name == "Dining room"
    assert len(plan.walls) == 2
    kinds = sorted(o.kind for o in plan.openings)
    assert kinds == ["door", "door", "window", "window"]
    first_wall = export["walls"][0]["identifier"]
    assert [o.wall_id for o in plan.openings if o.kind == "door"] == [first_wall, first_wall]
    area = Polygon(plan.rooms[0].polygon).area
    expected = shoelace(export["floors"][0]["polygonCorners"])
    assert expected == pytest.approx(23.81, abs=0.01)
    assert area == pytest.approx(expected, rel=0.02)
    door = next(o for o in plan.openings if o.kind == "door")
    assert door.width == pytest.approx(0.703, abs=0.001) and door.sill == 0
    window = next(o for o in plan.openings if o.kind == "window")
    assert window.sill > 0.5  # windows start above the floor
    assert {o.category for o in plan.objects} == {"table", "chair"}
    assert "coreModel" not in plan.model_dump_json()


def test_our_json_round_trip(export: dict[str, Any]) -> None:
    plan = parse_plan(export)
    again = parse_plan(json.loads(plan.model_dump_json()))
    assert again == plan


def test_detected_fixtures_and_storeys(export: dict[str, Any]) -> None:
    """A merged export: a second storey, a curved wall, a wall with corners, a toilet."""
    doc = copy.deepcopy(export)
    upstairs = copy.deepcopy(export["walls"][1])
    upstairs.update(identifier="UP-1", story=1, curve={"startAngle": 0, "endAngle": 1,
                                                       "radius": 3})
    cornered = copy.deepcopy(export["walls"][0])
    cornered.update(identifier="CORNERED", polygonCorners=[[-2, -1.4, 0], [2, -1.4, 0],
                                                           [2, 1.0, 0], [-2, 1.4, 0]])
    toilet = copy.deepcopy(export["objects"][0])
    toilet.update(identifier="WC", category={"toilet": {}})
    doc["walls"] += [upstairs, cornered]
    doc["objects"].append(toilet)
    plan = parse_plan(doc)
    assert len(plan.walls) == 4
    assert next(w for w in plan.walls if w.id == "UP-1").storey == 1
    assert "wall UP-1's curve does not fit it; drawn straight" in plan.notes
    assert next(w for w in plan.walls if w.id == "CORNERED").height == pytest.approx(2.8)
    wc = [f for f in plan.fixtures if f.source == "roomplan:toilet"]
    assert sorted(f.kind for f in wc) == ["drain", "water"]
    assert next(f for f in wc if f.kind == "drain").wall_distance is not None


def test_rooms_from_walls_when_no_floor_was_scanned(export: dict[str, Any]) -> None:
    doc = copy.deepcopy(export)
    doc["floors"] = []
    plan = parse_plan(doc)
    assert len(plan.rooms) == 1  # the walls' hull: a partial scan closes no area


def square(**extra: Any) -> dict[str, Any]:
    return {"format": "homeloop.floorplan", "version": 1, "name": "Flat",
            "rooms": [{"id": "r", "name": "Room", "polygon": [[0, 0], [4, 0], [4, 4], [0, 4]]}],
            "walls": [{"id": "s", "start": [0, 0], "end": [4, 0]}], **extra}


@pytest.mark.parametrize(("change", "message"), [
    ({"rooms": [{"id": "r", "name": "Bowtie", "polygon": [[0, 0], [4, 4], [4, 0], [0, 4]]}]},
     "room 'Bowtie' is not a simple polygon: its outline crosses itself"),
    ({"openings": [{"id": "d", "wall_id": "s", "kind": "door", "offset": 3.8, "width": 0.8,
                    "height": 2.1}]},
     "door 'd' (3.40–4.20 m along the wall) lies outside its wall 's', which is 4.00 m long"),
    ({"openings": [{"id": "d", "wall_id": "x", "kind": "door", "offset": 1, "width": 0.8,
                    "height": 2.1}]},
     "door 'd' is in wall 'x', which does not exist"),
    ({"openings": [{"id": "w", "wall_id": "s", "kind": "window", "offset": 1, "width": 0.8,
                    "height": 2.0, "sill": 1.0}]},
     "window 'w' reaches 3.00 m, above its wall's height of 2.60 m"),
    ({"openings": [{"id": "a", "wall_id": "s", "kind": "door", "offset": 1, "width": 0.8,
                    "height": 2.0},
                   {"id": "b", "wall_id": "s", "kind": "window", "offset": 1.5, "width": 0.8,
                    "height": 1.0, "sill": 1}]},
     "openings 'a' and 'b' overlap in their wall"),
])
def test_invalid_plans_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_plan(square(**change))
    assert message in err.value.detail


def test_valid_plan_and_unknown_format() -> None:
    assert isinstance(parse_plan(square()), FloorPlan)
    with pytest.raises(InvalidInput, match="unknown floor plan format"):
        parse_plan({"rooms": []})


def test_a_messy_scan_is_repaired_and_says_so(export: dict[str, Any]) -> None:
    """A window seen twice, a 2 cm wall, a floor outline that crosses itself."""
    doc = copy.deepcopy(export)
    doc["windows"].append({**copy.deepcopy(export["windows"][0]), "identifier": "TWICE"})
    doc["walls"].append({**copy.deepcopy(export["walls"][1]), "identifier": "SLIVER",
                         "dimensions": [0.02, 2.88, 0]})
    corners = doc["floors"][0]["polygonCorners"]
    corners[1], corners[2] = corners[2], corners[1]  # a bow tie
    plan = parse_plan(doc)
    assert len(plan.walls) == 2 and sum(o.kind == "window" for o in plan.openings) == 2
    assert any("TWICE overlaps window" in n for n in plan.notes)
    assert any("SLIVER is shorter than 5 cm" in n for n in plan.notes)
    assert any("crossed itself and was repaired" in n for n in plan.notes)
    assert Polygon(plan.rooms[0].polygon).is_valid


def test_a_curved_wall_follows_its_arc(export: dict[str, Any]) -> None:
    """A 3 m wide wall bowed 40 cm: an arc of radius 3 m over 60°, angles in degrees."""
    doc = copy.deepcopy(export)
    curved = doc["walls"][0]
    centre_z = -3 * math.cos(math.radians(30))
    curved.update(dimensions=[3.0, 2.88, 0], curve={
        "startAngle": {"value": 60, "unit": {"symbol": "°"}},
        "endAngle": {"value": 120, "unit": {"symbol": "°"}},
        "radius": 3.0, "center": [0.0, centre_z]})
    doc["doors"] = [d for d in doc["doors"] if d["parentIdentifier"] != curved["identifier"]]
    plan = parse_plan(doc)
    pieces = [w for w in plan.walls if w.id.startswith(curved["identifier"])]
    assert len(pieces) == 3 and not any("curve" in note for note in plan.notes)
    m = np.asarray(curved["transform"], dtype=float).reshape(4, 4).T
    cx, _, cz, _ = m @ np.array([0.0, 0.0, centre_z, 1.0])
    for wall in pieces:  # the pieces' ends lie on the arc (moved out by half the thickness)
        for x, z in (wall.start, wall.end):
            assert math.hypot(x - cx, z - cz) == pytest.approx(3.0, abs=0.06)


def test_numbers_must_be_finite() -> None:
    with pytest.raises(InvalidInput, match="finite"):
        parse_plan(square(openings=[{"id": "d", "wall_id": "s", "kind": "door",
                                     "offset": float("nan"), "width": 0.8, "height": 2.1}]))


def test_an_export_without_a_room_says_so() -> None:
    with pytest.raises(InvalidInput, match="has no room: no floor outline was scanned"):
        parse_plan({"coreModel": "", "walls": [], "floors": []})
