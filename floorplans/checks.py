"""Fit and compatibility checks over a plan, its placements and catalog facts (pure).

Every check returns :class:`Finding` s with a severity, the placements involved and a sentence
for the customer (in Simplified Chinese or English: :mod:`floorplans.texts`) that says which
item and which room or door: an item by its colour and kind ("the grey sofa", "灰色沙发"),
told apart from another like it by its room ("the sofa in the kitchen", "厨房里的沙发") and
then by its order ("the second lamp", "第二个台灯"); a door by the rooms it joins ("the door
from the kitchen to the living room", "从厨房到客厅的门"). Walls are centred on their line; a
product standing against a wall stands half the wall's thickness away from that line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from catalog.colours import colour
from floorplans.geometry import (
    Product,
    door_probes,
    door_swing,
    footprint,
    front_point,
    inner_point,
    opening_centre,
    wall_solid,
)
from floorplans.schemas import Finding, FloorPlan, Opening, Placement, Room
from floorplans.texts import (
    CATEGORY_ZH,
    CHECKS,
    NAMES,
    NEEDS,
    ROOM_ZH,
    metres,
    zh_ordinal,
)
from homeloop.i18n import DEFAULT, Lang, Pair, Text

OVERLAP_M2 = 0.002  # 20 cm²: touching is fine, running into is not
WALKWAY = 0.8
SERVICE_REACH = 1.5
DRAIN_REACH = 1.0
ROUGH_IN_TOLERANCE_MM = 20
# Small things one reaches from anywhere: no walkway needed in front of them.
NO_WALKWAY = frozenset({"lamp", "water_filter", "toilet_filter", "coffee_machine",
                        "water_purifier", "detergent_dispenser"})
# Names of rooms that are common nouns ("the kitchen"); any other name is a name ("Bedroom 2",
# "Lin's study") and is written as it is.
ROOM_WORDS = frozenset({"kitchen", "dining", "living", "bedroom", "bathroom", "room", "hall",
                        "hallway", "study", "balcony", "toilet", "laundry", "storage", "entrance",
                        "corridor", "office", "lounge", "garage", "utility", "master", "guest",
                        "family", "closet", "pantry", "nursery"})
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")


@dataclass(frozen=True, slots=True)
class _Placed:
    placement: Placement
    product: Product
    shape: Polygon
    room: Room | None
    name: Pair | Text | None = None  # in a sentence (in English, after "the")

    @property
    def id(self) -> str:
        return self.placement.id


def _short(product: Product, variant: str | None) -> Pair:
    """"grey sofa" / "灰色沙发": the colour chosen and the product's kind."""
    en = product.category.replace("_", " ")
    zh = CATEGORY_ZH.get(product.category, product.name)
    if variant:
        return Pair(colour(variant).zh + zh, f"{variant} {en}")
    return Pair(zh, en)


def _ordinal(n: int) -> str:
    return ORDINALS[n - 1] if n <= len(ORDINALS) else f"{n}th"


def room_phrase(room: Room | None) -> Pair | Text:
    """A room in a sentence: "the kitchen", "the living room", but "Bedroom 2"; in Chinese its
    Chinese name, else the word for its kind ("厨房"), else its name as written."""
    if room is None:
        return NAMES("the_room")
    name = room.name.strip()
    first = name.split(" ", 1)[0].lower() if name else ""
    en = f"the {name[0].lower()}{name[1:]}" if first in ROOM_WORDS and \
        not re.search(r"\d$", name) else name
    zh = room.name_zh or ROOM_ZH.get(name.lower()) or ROOM_ZH.get((room.label or "").lower()) \
        or name
    return Pair(zh, en)


def _named(placed: list[_Placed]) -> list[_Placed]:
    """Each item's name in the sentences: its colour and kind, then its room where another
    item of that name is in another room, then its order where that is not enough."""
    base = [_short(p.product, p.placement.variant) for p in placed]
    rooms_of: dict[str, set[str | None]] = {}
    for p, b in zip(placed, base, strict=True):
        rooms_of.setdefault(b.en, set()).add(p.room.id if p.room else None)
    names: list[Pair | Text] = [
        NAMES("in_room", item=b, room=room_phrase(p.room))
        if len(rooms_of[b.en]) > 1 and p.room is not None else b
        for p, b in zip(placed, base, strict=True)]
    keys = [str(n) for n in names]
    still = Counter(keys)
    seen: Counter[str] = Counter()
    out = []
    for p, name, key in zip(placed, names, keys, strict=True):
        if still[key] > 1:
            seen[key] += 1
            nth = Pair(f"第{zh_ordinal(seen[key])}个", _ordinal(seen[key]))
            name = NAMES("nth", item=name, nth=nth)
        out.append(_Placed(p.placement, p.product, p.shape, p.room, name))
    return out


class _Doors:
    """Each door of the plan with its wall and the rooms on either side, named for sentences."""

    def __init__(self, plan: FloorPlan) -> None:
        walls = {w.id: w for w in plan.walls}
        self.doors = [(o, walls[o.wall_id]) for o in plan.openings if o.kind == "door"]
        tree = STRtree([Polygon(r.polygon) for r in plan.rooms])
        self.sides: dict[str, tuple[Room | None, Room | None]] = {}
        for o, w in self.doors:
            found: list[Room | None] = []
            for probe in door_probes(o, w):
                hits = [plan.rooms[int(i)] for i in tree.query(probe, predicate="within")]
                found.append(next((r for r in hits if r.storey == w.storey), None))
            self.sides[o.id] = (found[0], found[1])
        pairs = Counter(self._pair(o.id) for o, _ in self.doors)
        seen: Counter[frozenset[str]] = Counter()
        self.nth: dict[str, Pair] = {}
        for o, _ in self.doors:
            pair = self._pair(o.id)
            if pairs[pair] > 1:
                seen[pair] += 1
                self.nth[o.id] = Pair(f"第{zh_ordinal(seen[pair])}扇", _ordinal(seen[pair]) + " ")

    def _pair(self, door_id: str) -> frozenset[str]:
        return frozenset(r.id for r in self.sides[door_id] if r is not None)

    def into(self, door: Opening) -> tuple[Room | None, Room | None]:
        """(the room it opens from, the room it opens into)."""
        left, right = self.sides[door.id]
        return (right, left) if door.swing == "left" else (left, right)

    def other(self, door: Opening, room: Room | None) -> Room | None:
        """The room on the other side of the door from ``room``."""
        left, right = self.sides[door.id]
        if room is not None and left is not None and left.id == room.id:
            return right
        if room is not None and right is not None and right.id == room.id:
            return left
        return left or right

    def name(self, door: Opening, start: Room | None = None, end: Room | None = None) -> Text:
        """"the door from the kitchen to the living room", "the door of the bathroom"."""
        if door.entrance:
            return NAMES("entrance_door")
        if start is None and end is None:
            start, end = self.into(door)
        nth = self.nth.get(door.id, Pair("", ""))
        if start is not None and end is not None and start.id != end.id:
            return NAMES("door_between", nth=nth, start=room_phrase(start),
                         end=room_phrase(end))
        one = start or end
        return NAMES("door_of", nth=nth, room=room_phrase(one)) if one \
            else NAMES("door", nth=nth)


def _cm(mm: float) -> str:
    return f"{mm / 10:.0f}"


def run_all(plan: FloorPlan, placements: list[Placement],
            products: dict[str, Product], lang: Lang = DEFAULT) -> list[Finding]:
    """Every check's findings, their sentences in ``lang``."""
    placed = _named(_place(plan, placements, products))
    doors = _Doors(plan)
    found: list[_Found] = [
        *inside_room(plan, placed), *wall_overlap(plan, placed), *product_overlap(placed),
        *door_swings(plan, placed, doors), *walkway(plan, placed, doors),
        *fixtures(plan, placed), *delivery(plan, placed, doors)]
    return [Finding(check=f.check, severity=f.severity, placement_ids=f.placement_ids,
                    message=text.render(lang)) for f, text in found]


_Found = tuple[Finding, Text]  # the finding, and its sentence not yet in a language


def _finding(check: str, severity: str, placement_ids: list[str], text: Text) -> _Found:
    return Finding(check=check, severity=severity,  # type: ignore[arg-type]
                   placement_ids=placement_ids, message=""), text


def _place(plan: FloorPlan, placements: Iterable[Placement],
           products: dict[str, Product]) -> list[_Placed]:
    out = []
    for p in placements:
        product = products[p.sku]
        shape = footprint(p, product)
        rooms = [r for r in plan.rooms if r.storey == p.storey]
        best = max(rooms, key=lambda r: Polygon(r.polygon).intersection(shape).area, default=None)
        if best is not None and Polygon(best.polygon).intersection(shape).area <= 0:
            best = min(rooms, key=lambda r: Polygon(r.polygon).distance(shape))
        out.append(_Placed(p, product, shape, best))
    return out


def inside_room(plan: FloorPlan, placed: list[_Placed]) -> list[_Found]:
    found = []
    for item in placed:
        rooms = unary_union([Polygon(r.polygon) for r in plan.rooms
                             if r.storey == item.placement.storey]).buffer(0.005)
        inside = rooms.intersection(item.shape).area
        if inside >= item.shape.area - 1e-6:
            continue
        if inside < 0.01 * item.shape.area:
            msg = CHECKS("outside", item=item.name)
        else:
            msg = CHECKS("sticks_out", item=item.name, room=room_phrase(item.room),
                         cm2=f"{(item.shape.area - inside) * 10000:.0f}")
        found.append(_finding("inside_room", "error", [item.id], msg))
    return found


def wall_overlap(plan: FloorPlan, placed: list[_Placed]) -> list[_Found]:
    found = []
    solids = [(w, wall_solid(w, plan)) for w in plan.walls]
    for item in placed:
        for wall, solid in solids:
            if wall.storey == item.placement.storey and \
                    solid.intersection(item.shape).area > OVERLAP_M2:
                found.append(_finding("wall_overlap", "error", [item.id],
                                      CHECKS("wall_overlap", item=item.name,
                                             room=room_phrase(item.room))))
                break
    return found


def product_overlap(placed: list[_Placed]) -> list[_Found]:
    found = []
    tree = STRtree([p.shape for p in placed])
    for i, a in enumerate(placed):
        for j in tree.query(a.shape):
            b = placed[int(j)]
            if int(j) <= i or a.placement.storey != b.placement.storey:
                continue
            if a.shape.intersection(b.shape).area > OVERLAP_M2:
                found.append(_finding("product_overlap", "error", [a.id, b.id],
                                      CHECKS("product_overlap", a=a.name, b=b.name)))
    return found


def door_swings(plan: FloorPlan, placed: list[_Placed], doors: _Doors) -> list[_Found]:
    found = []
    for door, wall in doors.doors:
        swing = door_swing(door, wall)
        blocking = [p for p in placed if p.placement.storey == wall.storey
                    and p.shape.intersection(swing).area > OVERLAP_M2]
        for item in blocking:
            found.append(_finding("door_swing", "error", [item.id],
                                  CHECKS("door_swing", item=item.name, door=doors.name(door))))
    return found


def walkway(plan: FloorPlan, placed: list[_Placed], doors: _Doors) -> list[_Found]:
    """Every door and every product's front must be reachable along 80 cm of free floor."""
    found = []
    for storey in sorted({r.storey for r in plan.rooms}):
        here = [p for p in placed if p.placement.storey == storey]
        rooms = [r for r in plan.rooms if r.storey == storey]
        walls = [w for w in plan.walls if w.storey == storey]
        floor = unary_union([Polygon(r.polygon) for r in rooms])
        blocked = unary_union([wall_solid(w, plan) for w in walls] + [p.shape for p in here])
        free = floor.difference(blocked)
        # where the middle of someone 80 cm wide can be
        space = free.buffer(-WALKWAY / 2 + 1e-3)
        parts = list(getattr(space, "geoms", [space])) if not space.is_empty else []
        reachable: list[BaseGeometry] = []
        door_points: list[tuple[Opening, Room, Point]] = []
        for door, wall in doors.doors:
            if wall.storey != storey:
                continue
            for room in rooms:
                poly = Polygon(room.polygon)
                if poly.distance(opening_centre(door, wall)) < wall.thickness + 0.05:
                    point = inner_point(door, wall, poly,
                                        WALKWAY / 2 + wall.thickness / 2 + 0.05)
                    door_points.append((door, room, point))
        for part in parts:
            if any(part.distance(pt) < 0.05 for _, _, pt in door_points):
                reachable.append(part)
        if not door_points and parts:  # a plan without doors: its largest free space
            reachable.append(max(parts, key=lambda g: g.area))
        reach = unary_union(reachable) if reachable else Polygon()
        for door, room, pt in door_points:
            if space.is_empty or space.distance(pt) > 0.05:
                near = [p.id for p in here if p.shape.distance(pt) < WALKWAY]
                if near:
                    other = doors.other(door, room)
                    where = (CHECKS("walkway_door_in_room", room=room_phrase(room),
                                    door=doors.name(door, room, other))
                             if other is not None and other.id != room.id and not door.entrance
                             else CHECKS("walkway_door", door=doors.name(door, room)))
                    found.append(_finding("walkway", "warning", near, where))
        for item in here:
            if item.product.category in NO_WALKWAY:
                continue
            front = front_point(item.placement, item.product, WALKWAY / 2 + 0.05)
            if reach.is_empty or reach.distance(front) > 0.05:
                others = [p.id for p in here if p is not item and p.shape.distance(front) < WALKWAY]
                found.append(_finding("walkway", "warning", [item.id, *others],
                                      CHECKS("walkway_front", item=item.name)))
    return found


def fixtures(plan: FloorPlan, placed: list[_Placed]) -> list[_Found]:
    found = []
    for item in placed:
        storey = item.placement.storey
        for need in item.product.needs:
            points = [f for f in plan.fixtures if f.kind == need and f.storey == storey]
            what = NEEDS.get(need, Pair(need, need))
            if not points:
                found.append(_finding("fixture", "error", [item.id],
                                      CHECKS("fixture_none", item=item.name, need=what)))
                continue
            nearest = min(item.shape.distance(Point(f.position)) for f in points)
            if nearest > SERVICE_REACH:
                found.append(_finding("fixture", "error", [item.id], CHECKS(
                    "fixture_far", item=item.name, need=what, reach=metres(SERVICE_REACH),
                    nearest=metres(nearest))))
        if item.product.rough_in_mm is not None:
            found += _rough_in(plan, item)
    return found


def _rough_in(plan: FloorPlan, item: _Placed) -> list[_Found]:
    rough_in = item.product.rough_in_mm
    assert rough_in is not None
    drains = [f for f in plan.fixtures if f.kind == "drain" and f.storey == item.placement.storey
              and item.shape.distance(Point(f.position)) <= DRAIN_REACH]
    if not drains:
        return []  # the needs check already said a drain is missing or far
    drain = min(drains, key=lambda f: item.shape.centroid.distance(Point(f.position)))
    distance = drain.wall_distance
    if distance is None:
        walls = [w for w in plan.walls if w.storey == drain.storey]
        if not walls:
            return []
        distance = min(wall_solid(w, plan).exterior.distance(Point(drain.position))
                       for w in walls)
    at_mm = round(distance * 1000)
    if abs(at_mm - rough_in) <= ROUGH_IN_TOLERANCE_MM:
        return []
    return [_finding("fixture", "error", [item.id],
                     CHECKS("rough_in", rough_in=rough_in, item=item.name, at=at_mm))]


def fits_through(box_mm: tuple[int, int, int], width_m: float, height_m: float) -> bool:
    """A box carried upright or on its side passes if its two smaller sides fit the door."""
    d1, d2, _ = sorted(box_mm)
    narrow, tall = sorted((width_m * 1000, height_m * 1000))
    return d1 <= narrow and d2 <= tall


def delivery(plan: FloorPlan, placed: list[_Placed], named: _Doors) -> list[_Found]:
    """The boxed product must pass the entrance door, then one of its room's doors."""
    found = []
    doors = named.doors
    for item in placed:
        box_mm = item.product.box_mm
        if box_mm is None:
            continue
        entrances = [d for d, _ in doors if d.entrance]
        own: list[Opening] = []
        if item.room is not None:
            poly = Polygon(item.room.polygon)
            own = [d for d, w in doors if w.storey == item.room.storey
                   and poly.distance(opening_centre(d, w)) < w.thickness + 0.05]
        blocked: tuple[Opening, Text] | None = None
        for door in entrances:
            if not fits_through(box_mm, door.width, door.height):
                blocked = (door, NAMES("your_entrance_door"))
        if blocked is None and own and not any(d.entrance for d in own) and \
                not any(fits_through(box_mm, d.width, d.height) for d in own):
            widest = max(own, key=lambda d: d.width)
            blocked = (widest, named.name(widest, named.other(widest, item.room), item.room))
        if blocked is not None:
            door, where = blocked
            dims = " × ".join(_cm(v) for v in sorted(box_mm, reverse=True))
            found.append(_finding("delivery", "error", [item.id], CHECKS(
                "delivery", item=item.name, dims=dims, door=where,
                width=f"{door.width * 100:.0f}")))
    return found


__all__ = ["fits_through", "run_all"]
