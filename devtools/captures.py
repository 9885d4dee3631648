"""Apple RoomPlan exports made in code, written as Apple's Codable JSON (pure).

What they are built from:

- Apple's RoomPlan documentation (developer.apple.com/documentation/roomplan):
  ``CapturedStructure`` (iOS 17: ``identifier``, ``rooms``, and its own ``walls``, ``doors``,
  ``windows``, ``openings``, ``floors``, ``objects``, ``sections``), made by
  ``StructureBuilder.capturedStructure(from:)`` from the ``CapturedRoom`` of each scan;
  ``CapturedRoom`` (``identifier``, ``story``, the same lists, ``sections``);
  ``CapturedRoom.Surface`` (``identifier``, ``parentIdentifier``, ``category``, ``confidence``,
  ``dimensions``, ``transform``, ``polygonCorners`` "in local plane coordinates",
  ``completedEdges`` from ``Edge``: ``top``, ``bottom``, ``left``, ``right``, ``curve``,
  ``story``); ``CapturedRoom.Section`` (``label``: ``livingRoom``, ``bedroom``, ``bathroom``,
  ``kitchen``, ``diningRoom``, ``unidentified``; ``center``; ``story``).
- How those are encoded, from the real single-room export in ``shared/samples/roomplan``:
  enums with payloads as one-key objects (``{"door": {"isOpen": false}}``,
  ``{"high": {}}``), a label as its raw string, vectors as arrays, ``transform`` as 16
  numbers in column-major order; a wall's local X runs along it and its local Z faces into its
  room; a floor's ``polygonCorners`` lie in its XY plane, which its transform turns into the
  room's XZ plane (its Z up); doors, windows and walls have depth 0; a scanner held at about
  1.4 m puts the floor at y = -1.4.
- What is assumed, as the documentation does not say it: in a structure, a wall two rooms
  share is one surface of the structure (on the wall's centre line) while each room keeps its
  own side of it; the structure's door in that wall names the structure's wall as its parent.
  The importer copes either way (it also merges the two rooms' sides when a structure has no
  lists of its own: ``own_lists=False``).

Plan ``(x, y)`` is world ``(x, z)``; storey ``n``'s floor is ``STOREY_HEIGHT`` above the
one below.
"""

from __future__ import annotations

import base64
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

STOREY_HEIGHT = 3.0
FLOOR_Y = -1.4  # the phone's height above the ground floor when the scan began


def _id(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"homeloop:{seed}")).upper()


def _transform(x: float, y: float, z: float, normal: tuple[float, float]) -> list[float]:
    """A surface standing at (x, y, z) whose local Z faces ``normal`` (plan x, y): a rotation
    about Y, column-major."""
    theta = math.atan2(normal[0], normal[1])
    c, s = math.cos(theta), math.sin(theta)
    return [c, 0.0, -s, 0.0, 0.0, 1.0, 0.0, 0.0, s, 0.0, c, 0.0, x, y, z, 1.0]


def _floor_y(story: int) -> float:
    return FLOOR_Y + story * STOREY_HEIGHT


@dataclass
class Side:
    """One face of a wall as a room's scan sees it: from ``a`` to ``b`` (plan), facing into
    the room, with the doors and windows in it."""

    key: str
    a: tuple[float, float]
    b: tuple[float, float]
    normal: tuple[float, float]
    story: int
    height: float
    items: list[tuple[str, float, float, float, float, bool]] = field(default_factory=list)

    @property
    def length(self) -> float:
        return math.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1])

    def at(self, along: float) -> tuple[float, float]:
        t = along / self.length
        return (self.a[0] + (self.b[0] - self.a[0]) * t, self.a[1] + (self.b[1] - self.a[1]) * t)


def surface(ident: str, category: dict[str, Any], width: float, height: float,
            transform: list[float], story: int, parent: str | None = None,
            corners: list[list[float]] | None = None,
            edges: tuple[str, ...] = ("top", "bottom", "left", "right")) -> dict[str, Any]:
    return {"category": category, "completedEdges": [{e: {}} for e in edges],
            "confidence": {"high": {}}, "curve": None, "dimensions": [width, height, 0.0],
            "identifier": ident, "parentIdentifier": parent, "polygonCorners": corners or [],
            "story": story, "transform": transform}


@dataclass
class Scan:
    """One room's scan: its floor outline (a rectangle), label, story and wall faces."""

    key: str
    label: str
    story: int
    x0: float
    y0: float
    x1: float
    y1: float
    height: float = 2.7
    sides: dict[str, Side] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.x0, self.y0, self.x1, self.y1
        for name, a, b, n in (("south", (x1, y0), (x0, y0), (0.0, 1.0)),
                              ("east", (x1, y1), (x1, y0), (-1.0, 0.0)),
                              ("north", (x0, y1), (x1, y1), (0.0, -1.0)),
                              ("west", (x0, y0), (x0, y1), (1.0, 0.0))):
            self.sides[name] = Side(f"{self.key}-{name}", a, b, n, self.story, self.height)

    def door(self, side: str, along: float, width: float = 0.8, height: float = 2.05,
             is_open: bool = False) -> Scan:
        self.sides[side].items.append(("door", along, width, height, 0.0, is_open))
        return self

    def window(self, side: str, along: float, width: float, height: float,
               sill: float) -> Scan:
        self.sides[side].items.append(("window", along, width, height, sill, False))
        return self

    def passage(self, side: str, along: float, width: float, height: float = 2.1) -> Scan:
        self.sides[side].items.append(("opening", along, width, height, 0.0, False))
        return self

    def thing(self, category: str, x: float, y: float, size: tuple[float, float, float],
              facing: tuple[float, float] = (0.0, 1.0)) -> Scan:
        fy = _floor_y(self.story) + size[1] / 2
        self.objects.append({
            "attributes": {}, "category": {category: {}}, "confidence": {"high": {}},
            "dimensions": list(size), "identifier": _id(f"{self.key}-{category}-{x}-{y}"),
            "parentIdentifier": None, "story": self.story,
            "transform": _transform(x, fy, y, facing)})
        return self

    def floor(self) -> dict[str, Any]:
        cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        # local x -> world x, local y -> world -z, local z -> world +y (up)
        corners = [[x - cx, -(y - cy), 0.0] for x, y in ((self.x0, self.y0), (self.x1, self.y0),
                                                        (self.x1, self.y1), (self.x0, self.y1))]
        transform = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0,
                     cx, _floor_y(self.story), cy, 1.0]
        return surface(_id(f"{self.key}-floor"), {"floor": {}}, self.x1 - self.x0,
                       self.y1 - self.y0, transform, self.story, corners=corners)

    def section(self) -> dict[str, Any]:
        return {"center": [(self.x0 + self.x1) / 2, _floor_y(self.story) + 1.0,
                           (self.y0 + self.y1) / 2], "label": self.label, "story": self.story}


def wall_surfaces(side: Side, ident: str, at: Side | None = None
                  ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """A wall face and what is in it, as surfaces; ``at`` places it on another line (the
    centre of a shared wall) with the same openings."""
    line = at or side
    mid = line.at(line.length / 2)
    fy = _floor_y(side.story)
    wall = surface(ident, {"wall": {}}, line.length, side.height,
                   _transform(mid[0], fy + side.height / 2, mid[1], line.normal), side.story)
    children = []
    for n, (kind, along, width, height, sill, is_open) in enumerate(side.items):
        # the same point along the wall, measured from the face's own start
        px, py = side.at(along)
        t = ((px - line.a[0]) * (line.b[0] - line.a[0]) + (py - line.a[1]) * (line.b[1] - line.a[1])
             ) / line.length
        cx, cy = line.at(t)
        category: dict[str, Any] = {kind: {"isOpen": is_open} if kind == "door" else {}}
        children.append((kind + "s", surface(
            _id(f"{ident}-{kind}-{n}"), category, width, height,
            _transform(cx, fy + sill + height / 2, cy, line.normal), side.story, parent=ident)))
    return wall, children


def _between(a: Side, b: Side) -> Side:
    """The centre line of the wall whose faces are ``a`` and ``b``, as long as both together."""
    ux, uy = (a.b[0] - a.a[0]) / a.length, (a.b[1] - a.a[1]) / a.length
    along = [(p[0] - a.a[0]) * ux + (p[1] - a.a[1]) * uy for p in (a.a, a.b, b.a, b.b)]
    nx, ny = -uy, ux
    gap = ((b.a[0] - a.a[0]) * nx + (b.a[1] - a.a[1]) * ny) / 2
    ox, oy = a.a[0] + nx * gap, a.a[1] + ny * gap
    lo, hi = min(along), max(along)
    return Side(a.key, (ox + ux * lo, oy + uy * lo), (ox + ux * hi, oy + uy * hi), a.normal,
                a.story, max(a.height, b.height))


@dataclass
class Home:
    """Scans of one home, merged as ``StructureBuilder`` does."""

    scans: list[Scan] = field(default_factory=list)
    shared: list[tuple[str, str]] = field(default_factory=list)  # side keys: one wall
    missing: set[str] = field(default_factory=set)  # side keys no scan covered

    def scan(self, key: str, label: str, story: int, x0: float, y0: float, x1: float,
             y1: float, height: float = 2.7) -> Scan:
        made = Scan(key, label, story, x0, y0, x1, y1, height)
        self.scans.append(made)
        return made

    def share(self, a: str, b: str) -> Home:
        """The faces ``a`` and ``b`` (``"kitchen-east"``) are the two sides of one wall; the
        openings are said on ``a``'s side."""
        self.shared.append((a, b))
        return self

    def unscanned(self, side: str) -> Home:
        self.missing.add(side)
        return self

    def _side(self, key: str) -> Side:
        for s in self.scans:
            for side in s.sides.values():
                if side.key == key:
                    return side
        raise KeyError(key)

    def captured_room(self, scan: Scan) -> dict[str, Any]:
        """One scan as its ``CapturedRoom``: its own faces, and a shared wall's openings on
        both rooms' faces (each room's scan sees them)."""
        lists: dict[str, list[dict[str, Any]]] = {
            "walls": [], "doors": [], "windows": [], "openings": []}
        partner = {b: a for a, b in self.shared} | {a: b for a, b in self.shared}
        for side in scan.sides.values():
            if side.key in self.missing:
                continue
            src = side
            if side.key in partner and not side.items:  # the other side says its openings
                src = self._side(partner[side.key])
            wall, children = wall_surfaces(src, _id(f"{side.key}-room"), at=side)
            lists["walls"].append(wall)
            for key, child in children:
                lists[key].append(child)
        return {"coreModel": base64.b64encode(scan.key.encode() * 8).decode(),
                "identifier": _id(f"{scan.key}-scan"), "story": scan.story, "version": 2,
                **lists, "floors": [scan.floor()], "objects": list(scan.objects),
                "sections": [scan.section()]}

    def structure(self, own_lists: bool = True) -> dict[str, Any]:
        """The merged ``CapturedStructure``; ``own_lists=False``: its rooms only (the
        structure's own lists empty), for an importer that must merge shared walls itself."""
        rooms = [self.captured_room(s) for s in self.scans]
        lists: dict[str, list[dict[str, Any]]] = {
            "walls": [], "doors": [], "windows": [], "openings": []}
        done: set[str] = set()
        pairs = {a: b for a, b in self.shared}
        for scan in self.scans:
            for side in scan.sides.values():
                if side.key in done or side.key in self.missing:
                    continue
                done.add(side.key)
                at = None
                if side.key in pairs:  # one wall on the centre line between the two faces
                    other = self._side(pairs[side.key])
                    done.add(other.key)
                    at = _between(side, other)
                elif side.key in pairs.values():
                    continue
                wall, children = wall_surfaces(side, _id(f"{side.key}-structure"), at=at)
                lists["walls"].append(wall)
                for key, child in children:
                    lists[key].append(child)
        if not own_lists:
            lists = {k: [] for k in lists}
        outline = [min(s.x0 for s in self.scans), min(s.y0 for s in self.scans),
                   max(s.x1 for s in self.scans), max(s.y1 for s in self.scans)]
        floors = []
        for story in sorted({s.story for s in self.scans}):
            hull = Scan(f"structure-{story}", "unidentified", story, outline[0], outline[1],
                        outline[2], outline[3])
            floors.append(hull.floor())  # the whole storey's outline, gaps and walls included
        return {"identifier": _id("structure"), "rooms": rooms, **lists,
                "floors": floors if own_lists else [],
                "objects": [o for s in self.scans for o in s.objects] if own_lists else [],
                "sections": [s.section() for s in self.scans] if own_lists else []}


def two_storey_home() -> Home:
    """A two-storey home scanned room by room (the tests' merged export).

    Ground floor (story 0): a kitchen and a living room sharing a 12 cm wall with an open door
    in it, a bathroom behind the living room (a closed door); the front door in the living
    room's south wall with a window above it, and two windows stacked one above the other in
    the kitchen's west wall. First floor (story 1): two bedrooms sharing a wall with a door;
    the second bedroom's east side was never scanned, and an open passage (no door) leads from
    it to the balcony. Objects: a toilet and a sofa.
    """
    home = Home()
    kitchen = home.scan("kitchen", "kitchen", 0, 0.0, 0.0, 4.0, 3.5)
    living = home.scan("living", "livingRoom", 0, 4.12, 0.0, 9.0, 3.5)
    bath = home.scan("bath", "bathroom", 0, 4.12, 3.62, 6.5, 6.0)
    kitchen.door("east", 1.5, width=0.8, is_open=True)
    kitchen.window("west", 1.2, width=0.9, height=0.9, sill=0.4)
    kitchen.window("west", 1.2, width=0.9, height=0.8, sill=1.5)
    living.door("south", 2.0, width=0.95, height=2.05)  # the front door
    living.window("south", 2.0, width=0.95, height=0.4, sill=2.15)  # a fanlight above it
    living.window("east", 1.75, width=1.8, height=1.4, sill=0.9)
    living.door("north", 1.2, width=0.75, height=2.0)  # to the bathroom
    bath.thing("toilet", 5.8, 5.6, (0.4, 0.75, 0.7), facing=(0.0, -1.0))
    living.thing("sofa", 6.5, 0.6, (2.0, 0.8, 0.9))
    home.share("kitchen-east", "living-west")
    home.share("living-north", "bath-south")
    bed1 = home.scan("bed1", "bedroom", 1, 0.0, 0.0, 4.5, 4.0)
    bed2 = home.scan("bed2", "bedroom", 1, 4.62, 0.0, 9.0, 4.0)
    bed1.door("east", 3.0, width=0.8)
    bed1.window("south", 2.25, width=1.5, height=1.4, sill=0.9)
    bed2.window("south", 2.2, width=1.5, height=1.4, sill=0.9)
    bed2.passage("south", 3.7, width=0.9)  # open to the balcony
    home.share("bed1-east", "bed2-west")
    home.unscanned("bed2-east")
    return home


def grid_home(rooms_x: int, rooms_y: int, storeys: int = 1) -> Home:
    """A big home for the import benchmark: a grid of 4 by 3.5 m rooms sharing 12 cm walls, a
    door in every shared wall, a window in every outside west wall."""
    home = Home()
    labels = ("bedroom", "livingRoom", "kitchen", "bathroom", "diningRoom")
    t = 0.12
    for story in range(storeys):
        for i in range(rooms_x):
            for j in range(rooms_y):
                x0, y0 = i * (4.0 + t), j * (3.5 + t)
                room = home.scan(f"s{story}-r{i}-{j}", labels[(i + j) % len(labels)], story,
                                 x0, y0, x0 + 4.0, y0 + 3.5)
                if i:
                    home.scans[-1 - rooms_y].door("east", 1.0)
                    home.share(f"s{story}-r{i - 1}-{j}-east", f"s{story}-r{i}-{j}-west")
                if j:
                    home.scans[-2].door("north", 2.0)
                    home.share(f"s{story}-r{i}-{j - 1}-north", f"s{story}-r{i}-{j}-south")
                if i == 0:
                    room.window("west", 1.75, 1.2, 1.2, 0.9)
    return home


def segmented(doc: dict[str, Any], segments: int) -> dict[str, Any]:
    """Every wall of a structure's own list cut into ``segments`` pieces in a row, as long
    walls come out of real scans; each door and window names the piece it is in."""
    walls: list[dict[str, Any]] = []
    pieces: dict[str, list[tuple[float, float, str]]] = {}
    for wall in doc["walls"]:
        width = wall["dimensions"][0]
        t = wall["transform"]
        ux, uz = t[0], t[2]
        for k in range(segments):
            lo = -width / 2 + width * k / segments
            hi = lo + width / segments
            ident = wall["identifier"] if k == 0 else f"{wall['identifier']}-{k}"
            centre = (lo + hi) / 2
            walls.append({**wall, "identifier": ident, "dimensions": [hi - lo,
                                                                      *wall["dimensions"][1:]],
                          "transform": [*t[:12], t[12] + ux * centre, t[13],
                                        t[14] + uz * centre, t[15]]})
            pieces.setdefault(wall["identifier"], []).append((lo, hi, ident))
    placed: dict[str, list[dict[str, Any]]] = {}
    by_id = {w["identifier"]: w for w in doc["walls"]}
    for key in ("doors", "windows", "openings"):
        placed[key] = []
        for item in doc[key]:
            parent = by_id.get(item["parentIdentifier"])
            if parent is None:
                placed[key].append(item)
                continue
            t, o = parent["transform"], item["transform"]
            along = (o[12] - t[12]) * t[0] + (o[14] - t[14]) * t[2]
            host = next((i for lo, hi, i in pieces[parent["identifier"]] if lo <= along <= hi),
                        parent["identifier"])
            placed[key].append({**item, "parentIdentifier": host})
    return {**doc, "walls": walls, **placed}
