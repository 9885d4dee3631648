"""Apple RoomPlan exports into a :class:`FloorPlan` (pure).

Both shapes Apple writes are read (:mod:`floorplans.roomplan_json`): a single scan
(``CapturedRoom``) and a merged home (``CapturedStructure``: ``rooms``, each a scan with its own
floor outline, sections and story, plus the structure's own surfaces, where a wall two rooms
share is one wall).

- **Rooms.** Each floor's ``polygonCorners`` (its own XY plane; its transform turns them into
  the room's XZ plane) is a room, on its floor's story, named after RoomPlan's section label
  inside it (else its scan's nearest one) in English and Simplified Chinese; names used twice
  are numbered. A scan without a floor: the areas its walls close, else their hull. A
  structure's rooms come from its rooms' floors, never from its own floor outline, which spans
  the interior walls and the gaps no scan covered.
- **Walls.** RoomPlan gives a wall's room-side surface; a wall's local X runs along it. Two
  surfaces that face each other a wall's thickness apart (each room's side of the wall they
  share) become one wall between them, as thick as they are apart. A wall with a room on one
  side only is moved half a thickness (10 cm walls) away from it. Curved walls (``curve``)
  become straight pieces of at most 22.5° along their arc (if the arc ends where the wall does,
  else they stay straight, noted); a wall with ``polygonCorners`` takes its outline's extent.
- **Openings.** Doors (open or closed, as the scan saw them), windows and openings go to their
  ``parentIdentifier`` wall, else the nearest on their story, with offset, width, height and
  sill from their own transform, so a window above a door or two stacked windows are each
  kept. The same opening seen from both rooms is kept once; one that overlaps another in its
  wall (along it and in height) or does not fit its height is left out, noted.
- **Unscanned sides.** The stretches of a room's outline with neither a wall nor another room
  along them are the room's ``unscanned`` sides, noted.
- **Objects.** Detected toilets, sinks, … become the fixtures they imply.

Work grows near-linearly with the number of elements: every "which wall, which room is near"
is asked of a shapely ``STRtree``, never of every other element; counts are capped by
:class:`~floorplans.schemas.Limits` before anything is built.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize, unary_union
from shapely.validation import make_valid

from floorplans.roomplan_json import CapturedStructure, Measurement, Section, Surface
from floorplans.schemas import (
    DetectedObject,
    Fixture,
    FloorPlan,
    Limits,
    Opening,
    Room,
    Wall,
)
from floorplans.texts import IMPORT
from floorplans.validation import MIN_ROOM_AREA, invalid
from homeloop.errors import InvalidInput
from homeloop.i18n import Pair

WALL_THICKNESS = 0.1
MAX_WALL_THICKNESS = 0.5
SHARED_GAP = 0.35  # two faces this close, parallel and side by side: one wall between rooms
PARALLEL = math.sin(math.radians(5))
PROBE = 0.2  # how far beside a wall to look for a room
UNSCANNED_MIN = 0.5  # m of outline without a wall before a side counts as unscanned
ARC_STEP = math.pi / 8  # a curved wall becomes straight pieces of at most 22.5°
# What a detected object means for the services it needs at its place.
FIXTURES_OF: dict[str, tuple[str, ...]] = {
    "toilet": ("drain", "water"),
    "sink": ("water", "drain"),
    "bathtub": ("water", "drain"),
    "washerDryer": ("water", "drain", "power"),
    "dishwasher": ("water", "drain", "power"),
    "stove": ("power", "gas"),
    "oven": ("power",),
    "refrigerator": ("power",),
    "television": ("power",),
    "fireplace": ("gas",),
}
# RoomPlan's section labels (CapturedRoom.Section.Label), in English and Simplified Chinese.
ROOM_LABELS: dict[str, tuple[str, str]] = {
    "kitchen": ("Kitchen", "厨房"),
    "diningRoom": ("Dining room", "餐厅"),
    "livingRoom": ("Living room", "客厅"),
    "bedroom": ("Bedroom", "卧室"),
    "bathroom": ("Bathroom", "卫生间"),
    "unidentified": ("Room", "房间"),
}
KINDS = (("door", "doors"), ("window", "windows"), ("opening", "openings"))


def looks_like_roomplan(doc: dict[str, Any]) -> bool:
    """A RoomPlan export, told from our own JSON by its shape (never by trusting it)."""
    if doc.get("format") == "homeloop.floorplan":
        return False
    if "coreModel" in doc:
        return True
    walls = doc.get("walls")
    if isinstance(walls, list) and any(isinstance(w, dict) and "transform" in w for w in walls):
        return True
    rooms = doc.get("rooms")
    return isinstance(rooms, list) and any(
        isinstance(r, dict) and ("coreModel" in r or "floors" in r or "walls" in r)
        and "polygon" not in r for r in rooms)


def label_names(label: str) -> tuple[str, str | None]:
    """RoomPlan's label in English and Simplified Chinese (a label Apple adds later: its
    words in English, and no Chinese name until we know it)."""
    if label in ROOM_LABELS:
        return ROOM_LABELS[label]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", label).lower().strip() or "room"
    return words[0].upper() + words[1:], None


def _matrix(surface: Surface) -> NDArray[np.float64]:
    return np.asarray(surface.transform, dtype=np.float64).reshape(4, 4).T


def _xz(m: NDArray[np.float64], local: tuple[float, float, float]) -> tuple[float, float]:
    p = m @ np.array([*local, 1.0])
    return (round(float(p[0]), 4), round(float(p[2]), 4))


def _angle(value: float | Measurement) -> float:
    """A RoomPlan angle: a number (radians) or an encoded ``Measurement<UnitAngle>``."""
    if isinstance(value, Measurement):
        unit = value.unit
        symbol = unit.get("symbol") if isinstance(unit, dict) else unit
        return math.radians(value.value) if symbol in ("°", "deg", "degrees") else value.value
    return float(value)


def _arc(raw: Surface, lo_x: float, hi_x: float) -> list[tuple[float, float]] | None:
    """A curved wall's arc in its local (x, z), or None when the curve does not fit the wall.

    ``curve`` has start and end angles, a radius and a centre in the wall's local xz. The
    arc must end where the wall's straight extent ends (within a tenth of its width), which
    also settles which way the angles turn; otherwise the wall stays straight.
    """
    curve = raw.curve
    if curve is None:
        return None
    a0, a1 = _angle(curve.startAngle), _angle(curve.endAngle)
    radius = curve.radius
    cx, cz = (curve.center[0], curve.center[1]) if curve.center else (0.0, 0.0)
    if radius <= 0 or math.isclose(a0, a1) or abs(a1 - a0) > 4 * math.pi:
        return None
    if a1 < a0:
        a1 += 2 * math.pi
    steps = max(2, math.ceil((a1 - a0) / ARC_STEP))
    tolerance = max(0.1 * (hi_x - lo_x), 0.05)
    for turn in (1.0, -1.0):
        pts = [(cx + radius * math.cos(a0 + (a1 - a0) * i / steps),
                cz + turn * radius * math.sin(a0 + (a1 - a0) * i / steps))
               for i in range(steps + 1)]
        ends = sorted([pts[0], pts[-1]])
        if all(math.hypot(px - ex, pz) <= tolerance
               for (px, pz), ex in zip(ends, (lo_x, hi_x), strict=True)):
            return pts
    return None


@dataclass(slots=True)
class _Piece:
    """A straight wall piece as scanned, before shared faces are merged."""

    id: str
    source: str  # the RoomPlan identifier it came from
    start: tuple[float, float]
    end: tuple[float, float]
    height: float
    storey: int
    bottom: float  # height of its foot: its storey's floor

    @property
    def length(self) -> float:
        return math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])


def _pieces(raw: Surface, ident: str) -> tuple[list[_Piece], bool]:
    """The wall on the plan (a curved one as several pieces along its arc), and whether a
    curve had to become its chord."""
    m = _matrix(raw)
    width, height = raw.dimensions[0], raw.dimensions[1]
    lo_x, hi_x = -width / 2, width / 2
    if raw.polygonCorners:
        xs = [c[0] for c in raw.polygonCorners]
        ys = [c[1] for c in raw.polygonCorners]
        lo_x, hi_x = min(xs), max(xs)
        height = max(ys) - min(ys) if max(ys) > min(ys) else height
    height = max(height, 0.1)
    bottom = float(m[1, 3]) - height / 2
    arc = _arc(raw, lo_x, hi_x)
    if arc is None:
        piece = _Piece(ident, ident, _xz(m, (lo_x, 0, 0)), _xz(m, (hi_x, 0, 0)), height,
                       raw.story, bottom)
        return [piece], raw.curve is not None
    points = [_xz(m, (x, 0, z)) for x, z in arc]
    return [_Piece(ident if i == 0 else f"{ident}~{i + 1}", ident, a, b, height, raw.story,
                   bottom) for i, (a, b) in enumerate(itertools.pairwise(points))], False


class _Ids:
    """Unique ids: the one given, else a made one; a repeat gets its position appended."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str | None, fallback: str) -> str:
        ident = wanted or fallback
        if ident in self.used:
            ident = f"{ident}-{fallback}"
        n = 2
        base = ident
        while ident in self.used:
            ident, n = f"{base}-{n}", n + 1
        self.used.add(ident)
        return ident


def _chosen(doc: CapturedStructure, key: str) -> list[Surface]:
    """The structure's own list where it has one (shared elements once), else its rooms'."""
    return [s for s, _ in _chosen_from(doc, key)]


def _chosen_from(doc: CapturedStructure, key: str) -> list[tuple[Surface, int]]:
    """:func:`_chosen`, each with the room (scan) it came from: -1 for the structure's own."""
    own: list[Surface] = getattr(doc, key)
    if own or not doc.rooms:
        return [(s, -1) for s in own]
    seen: set[str] = set()
    out = []
    for n, room in enumerate(doc.rooms):
        for s in getattr(room, key):
            if s.identifier is not None:
                if s.identifier in seen:
                    continue
                seen.add(s.identifier)
            out.append((s, n))
    return out


def _count(doc: dict[str, Any], key: str) -> int:
    """How many of ``key`` the import would take, read before anything is validated."""
    own = doc.get(key)
    if isinstance(own, list) and own:
        return len(own)
    rooms = doc.get("rooms")
    if not isinstance(rooms, list):
        return 0
    return sum(len(r[key]) for r in rooms if isinstance(r, dict) and isinstance(r.get(key), list))


def _check_counts(doc: dict[str, Any], limits: Limits) -> None:
    for what, keys, cap in ((Pair("墙", "walls"), ("walls",), limits.walls),
                            (Pair("门、窗和洞口", "doors, windows and openings"),
                             ("doors", "windows", "openings"), limits.openings),
                            (Pair("物体", "objects"), ("objects",), limits.items)):
        n = sum(_count(doc, k) for k in keys)
        if n > cap:
            raise InvalidInput(IMPORT("floorplan.too_many", cap=f"{cap:,}", what=what,
                                      n=f"{n:,}"))


# --- rooms ---

@dataclass(slots=True)
class _Outline:
    id: str
    storey: int
    polygon: Polygon
    sections: list[Section]  # its own scan's


def _floor_polygon(raw: Surface) -> Polygon:
    m = _matrix(raw)
    if len(raw.polygonCorners) >= 3:
        pts = [_xz(m, (c[0], c[1], c[2] if len(c) > 2 else 0.0)) for c in raw.polygonCorners]
    else:  # a floor without corners: its rectangle
        w, d = raw.dimensions[0] / 2, raw.dimensions[1] / 2
        pts = [_xz(m, (x, y, 0)) for x, y in ((-w, -d), (w, -d), (w, d), (-w, d))]
    return Polygon(pts)


def _from_walls(pieces: Sequence[_Piece], ident: str) -> list[_Outline]:
    """No floor scanned: the areas the walls close, else their hull."""
    if not pieces:
        return []
    lines = MultiLineString([(p.start, p.end) for p in pieces])
    faces = [p for p in polygonize(unary_union(lines)) if p.area > 0.5]
    if not faces:
        hull = lines.convex_hull
        faces = [hull] if isinstance(hull, Polygon) else []
    return [_Outline(f"{ident}-{i}" if i else ident, pieces[0].storey, face, [])
            for i, face in enumerate(faces)]


def _outlines(doc: CapturedStructure, pieces: list[_Piece]) -> list[_Outline]:
    scans = doc.rooms or [doc]
    found: list[_Outline] = []
    for n, scan in enumerate(scans):
        ident = scan.identifier or f"room-{n}"
        if scan.floors:
            found += [_Outline(f.identifier or f"{ident}-floor-{i}", f.story, _floor_polygon(f),
                               list(scan.sections)) for i, f in enumerate(scan.floors)]
        elif doc.rooms and scan.walls:
            own: list[_Piece] = []
            for i, w in enumerate(scan.walls):
                own += _pieces(w, w.identifier or f"{ident}-wall-{i}")[0]
            found += [_Outline(o.id, o.storey, o.polygon, list(scan.sections))
                      for o in _from_walls(own, ident)]
    if not found and doc.rooms and doc.floors:  # rooms without outlines: the structure's
        found = [_Outline(f.identifier or f"floor-{i}", f.story, _floor_polygon(f),
                          list(doc.sections)) for i, f in enumerate(doc.floors)]
    return found or _outlines_of_walls(doc, pieces)


def _outlines_of_walls(doc: CapturedStructure, pieces: list[_Piece]) -> list[_Outline]:
    found: list[_Outline] = []
    for storey, group in itertools.groupby(sorted(pieces, key=lambda p: p.storey),
                                           key=lambda p: p.storey):
        found += [_Outline(o.id, o.storey, o.polygon, list(doc.sections))
                  for o in _from_walls(list(group), f"room-{storey}")]
    return found


def _usable(outline: _Outline, notes: list[str]) -> _Outline | None:
    """A scanned floor whose outline crosses itself is repaired; a sliver is dropped."""
    poly = outline.polygon
    if not poly.is_valid:
        fixed = make_valid(poly)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon)]
        if not parts:
            notes.append(f"floor {outline.id} has no usable outline and was left out")
            return None
        poly = max(parts, key=lambda g: g.area)
        notes.append(f"the outline of floor {outline.id} crossed itself and was repaired")
    if poly.area < MIN_ROOM_AREA:
        notes.append(f"floor {outline.id} ({poly.area:.2f} m²) is too small for a room; "
                     "left out")
        return None
    outline.polygon = Polygon([(round(x, 4), round(y, 4))
                               for x, y in list(poly.exterior.coords)[:-1]])
    return outline


def _labels(outlines: list[_Outline], shared: list[Section]) -> list[list[str]]:
    """Each room's labels: the sections inside it (its scan's and the structure's), else its
    scan's nearest one on its story; ``unidentified`` when nothing says."""
    tree = STRtree([o.polygon for o in outlines])
    inside: dict[int, list[str]] = defaultdict(list)
    own = [(i, s) for i, o in enumerate(outlines) for s in o.sections]
    everyone = [(-1, s) for s in shared] + own
    if everyone:
        points = [Point(s.center[0], s.center[2]) for _, s in everyone]
        for p, o in zip(*tree.query(points, predicate="within"), strict=True):
            scan, section = everyone[int(p)]
            room = int(o)
            if section.story == outlines[room].storey and scan in (-1, room):
                inside[room].append(section.label)
    labels = []
    for i, outline in enumerate(outlines):
        found = list(dict.fromkeys(inside.get(i, [])))
        named = [label for label in found if label != "unidentified"]
        if named:
            labels.append(named)
            continue
        if not found:
            near = [s for s in outline.sections if s.story == outline.storey]
            if near:
                best = min(near, key=lambda s: outline.polygon.distance(
                    Point(s.center[0], s.center[2])))
                found = [best.label]
        labels.append(found or ["unidentified"])
    return labels


def _rooms(outlines: list[_Outline], shared: list[Section]) -> list[Room]:
    names: list[tuple[str, str, str | None]] = []
    for labels in _labels(outlines, shared):
        words = [label_names(label) for label in labels[:2]]
        en = " and ".join([words[0][0], *(w[0].lower() for w in words[1:])])
        zh = "和".join(w[1] for w in words if w[1]) if all(w[1] for w in words) else None
        names.append((labels[0], en, zh))
    counts: dict[str, int] = defaultdict(int)
    for _, en, _ in names:
        counts[en] += 1
    order = sorted(range(len(outlines)), key=lambda i: (
        outlines[i].storey, outlines[i].polygon.centroid.y, outlines[i].polygon.centroid.x))
    seen: dict[str, int] = defaultdict(int)
    rooms: list[Room | None] = [None] * len(outlines)
    ids = _Ids()
    for i in order:
        label, en, zh = names[i]
        if counts[en] > 1:  # names used twice are numbered, on their storey then front to back
            seen[en] += 1
            en, zh = f"{en} {seen[en]}", (f"{zh}{seen[en]}" if zh else None)
        outline = outlines[i]
        corners = [(x, y) for x, y in list(outline.polygon.exterior.coords)[:-1]]
        rooms[i] = Room(id=ids.take(outline.id, f"room-{i}"), name=en, name_zh=zh, label=label,
                        storey=outline.storey, polygon=corners)
    return [r for r in rooms if r is not None]


# --- walls ---

def _direction(p: _Piece) -> tuple[float, float]:
    length = p.length
    return ((p.end[0] - p.start[0]) / length, (p.end[1] - p.start[1]) / length)


def _one_wall(a: _Piece, b: _Piece) -> bool:
    """Two surfaces of one wall: its two sides (parallel, 2 cm to :data:`SHARED_GAP` apart,
    side by side over half the shorter one), or two pieces of one side in a row (in line,
    end to end within 5 cm: scans cut long walls into pieces). One side seen twice over
    itself stays as it is."""
    if a.storey != b.storey:
        return False
    ua, ub = _direction(a), _direction(b)
    if abs(ua[0] * ub[1] - ua[1] * ub[0]) > PARALLEL:
        return False
    na = (-ua[1], ua[0])
    apart = [abs((p[0] - a.start[0]) * na[0] + (p[1] - a.start[1]) * na[1])
             for p in (b.start, b.end)]
    t = [(p[0] - a.start[0]) * ua[0] + (p[1] - a.start[1]) * ua[1] for p in (b.start, b.end)]
    overlap = min(max(t), a.length) - max(min(t), 0.0)
    if max(apart) < 0.02:  # in line: pieces of one side, end to end
        return -0.05 <= overlap <= 0.05
    if max(apart) > SHARED_GAP or min(apart) < 0.02:
        return False
    return overlap >= 0.5 * min(a.length, b.length)


@dataclass(slots=True)
class _Built:
    wall: Wall
    bottom: float
    centred: bool  # between two faces already: not to be moved


def _merge_faces(pieces: list[_Piece], notes: list[str]) -> tuple[list[_Built], dict[str, str]]:
    """One wall for the surfaces of one wall (two rooms' sides of a shared wall, the pieces a
    scan cut it into), and where each piece went."""
    n = len(pieces)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        tree = STRtree([LineString([p.start, p.end]) for p in pieces])
        left, right = tree.query([LineString([p.start, p.end]) for p in pieces],
                                 predicate="dwithin", distance=SHARED_GAP)
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i < j and _one_wall(pieces[i], pieces[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[root(i)].append(i)
    built: list[_Built] = []
    went: dict[str, str] = {}
    for members in sorted(groups.values()):
        group = [pieces[i] for i in members]
        ref = max(group, key=lambda p: p.length)
        if len(group) == 1:
            wall = Wall(id=ref.id, start=ref.start, end=ref.end, thickness=WALL_THICKNESS,
                        height=ref.height, storey=ref.storey)
            built.append(_Built(wall, ref.bottom, False))
            went[ref.id] = ref.id
            continue
        ux, uz = _direction(ref)
        nx, nz = -uz, ux
        along, across = [], []
        for p in group:
            for x, z in (p.start, p.end):
                along.append((x - ref.start[0]) * ux + (z - ref.start[1]) * uz)
                across.append((x - ref.start[0]) * nx + (z - ref.start[1]) * nz)
        spread = max(across) - min(across)
        mid = (max(across) + min(across)) / 2
        lo, hi = min(along), max(along)
        ox, oz = ref.start[0] + nx * mid, ref.start[1] + nz * mid
        centred = spread >= 0.02
        thickness = round(min(max(spread, 0.05), MAX_WALL_THICKNESS), 4) if centred \
            else WALL_THICKNESS
        if spread > MAX_WALL_THICKNESS:
            notes.append(f"wall {ref.id}'s two sides are {spread:.2f} m apart; drawn "
                         f"{MAX_WALL_THICKNESS:.2f} m thick")
        wall = Wall(id=ref.id, start=(round(ox + ux * lo, 4), round(oz + uz * lo, 4)),
                    end=(round(ox + ux * hi, 4), round(oz + uz * hi, 4)), thickness=thickness,
                    height=max(p.height for p in group), storey=ref.storey)
        built.append(_Built(wall, min(p.bottom for p in group), centred))
        for p in group:
            went[p.id] = ref.id
    return built, went


class _RoomIndex:
    """The rooms of each storey in an STRtree: which room is at a point, which is nearest."""

    def __init__(self, rooms: list[Room]) -> None:
        self.by_storey: dict[int, tuple[STRtree, list[Room], list[Polygon]]] = {}
        grouped: dict[int, list[Room]] = defaultdict(list)
        for room in rooms:
            grouped[room.storey].append(room)
        for storey, members in grouped.items():
            polys = [Polygon(r.polygon) for r in members]
            self.by_storey[storey] = (STRtree(polys), members, polys)

    def at(self, storey: int, x: float, y: float) -> Room | None:
        found = self.by_storey.get(storey)
        if found is None:
            return None
        tree, members, _ = found
        hits = tree.query(Point(x, y), predicate="within")
        return members[int(hits[0])] if len(hits) else None

    def nearest(self, storey: int, geom: BaseGeometry) -> Polygon | None:
        found = self.by_storey.get(storey)
        if found is None:
            return None
        tree, _, polys = found
        return polys[int(tree.nearest(geom))]


def _sides(wall: Wall, rooms: _RoomIndex, depth: float) -> tuple[bool, bool]:
    """Is there a room to the left and to the right of the wall (looking from start to end)?"""
    (sx, sz), (ex, ez) = wall.start, wall.end
    length = math.hypot(ex - sx, ez - sz)
    ux, uz = (ex - sx) / length, (ez - sz) / length
    left = right = False
    for t in (0.25, 0.5, 0.75):
        px, pz = sx + ux * length * t, sz + uz * length * t
        left = left or rooms.at(wall.storey, px - uz * depth, pz + ux * depth) is not None
        right = right or rooms.at(wall.storey, px + uz * depth, pz - ux * depth) is not None
    return left, right


def _outwards(built: _Built, rooms: _RoomIndex) -> Wall:
    """RoomPlan gives a wall's room-side surface; our walls are centred on their line. A wall
    with rooms on both sides stays; one with a room on one side moves away from it."""
    wall = built.wall
    if built.centred:
        return wall
    left, right = _sides(wall, rooms, PROBE)
    if left and right:
        return wall
    (sx, sz), (ex, ez) = wall.start, wall.end
    length = math.hypot(ex - sx, ez - sz)
    nx, nz = -(ez - sz) / length, (ex - sx) / length  # to the left
    if not left and not right:  # no room beside it: away from the nearest one
        near = rooms.nearest(wall.storey, LineString([wall.start, wall.end]))
        if near is None:
            return wall
        c = near.representative_point()
        mx, mz = (sx + ex) / 2, (sz + ez) / 2
        left = (c.x - mx) * nx + (c.y - mz) * nz > 0
    sign = -1.0 if left else 1.0
    dx, dz = sign * nx * wall.thickness / 2, sign * nz * wall.thickness / 2
    return wall.model_copy(update={"start": (round(sx + dx, 4), round(sz + dz, 4)),
                                   "end": (round(ex + dx, 4), round(ez + dz, 4))})


class _WallIndex:
    """The walls of each storey in an STRtree, for the nearest wall to a point."""

    def __init__(self, walls: list[Wall]) -> None:
        self.all = walls
        self.by_storey: dict[int | None, tuple[STRtree, list[Wall]]] = {}
        grouped: dict[int, list[Wall]] = defaultdict(list)
        for w in walls:
            grouped[w.storey].append(w)
        for storey, members in grouped.items():
            self.by_storey[storey] = (STRtree([LineString([w.start, w.end]) for w in members]),
                                      members)
        if walls:
            self.by_storey[None] = (STRtree([LineString([w.start, w.end]) for w in walls]),
                                    walls)

    def nearest(self, x: float, z: float, storey: int,
                among: list[Wall] | None = None) -> Wall | None:
        if among:
            return min(among, key=lambda w: LineString([w.start, w.end]).distance(Point(x, z)))
        found = self.by_storey.get(storey) or self.by_storey.get(None)
        if found is None:
            return None
        tree, members = found
        return members[int(tree.nearest(Point(x, z)))]


# --- openings ---

def _opening(raw: Surface, ident: str, kind: str, wall: Wall, wall_bottom: float,
             centres: STRtree | None, centre_points: list[Point],
             notes: list[str]) -> Opening | None:
    m = _matrix(raw)
    width, height = raw.dimensions[0], raw.dimensions[1]
    if width < 0.05 or height < 0.05:
        notes.append(f"{kind} {ident} is {width:.2f} × {height:.2f} m, too small; left out")
        return None
    cx, cz = float(m[0, 3]), float(m[2, 3])
    sx, sz = wall.start
    ex, ez = wall.end
    length = math.hypot(ex - sx, ez - sz)
    ux, uz = (ex - sx) / length, (ez - sz) / length
    offset = (cx - sx) * ux + (cz - sz) * uz
    if width > length + 0.05:
        notes.append(f"{kind} {ident} ({width:.2f} m) is wider than its wall {wall.id} "
                     f"({length:.2f} m); narrowed to the wall")
    width = min(width, length)
    half = width / 2
    placed = min(max(offset, half), length - half)
    if abs(placed - offset) > 0.05:
        notes.append(f"{kind} {ident} reached {abs(placed - offset):.2f} m past the end of its "
                     f"wall {wall.id}; moved in")
    sill = 0.0 if kind == "door" else max(0.0, float(m[1, 3]) - height / 2 - wall_bottom)
    height = min(height, wall.height - sill)
    # RoomPlan does not say which way a door opens: into the room nearest to it.
    swing = "left"
    if centres is not None:
        near = centre_points[int(centres.nearest(Point(cx, cz)))]
        # left of the direction start→end is (-uz, ux)
        swing = "left" if (near.x - cx) * -uz + (near.y - cz) * ux >= 0 else "right"
    return Opening(id=ident, wall_id=wall.id, kind=kind,  # type: ignore[arg-type]
                   offset=round(placed, 4), width=round(width, 4), height=round(height, 4),
                   sill=round(sill, 4), swing=swing,  # type: ignore[arg-type]
                   is_open=raw.door_open() if kind == "door" else None)


def _same(a: Opening, b: Opening) -> bool:
    return (a.kind == b.kind and abs(a.offset - b.offset) < 0.2 and abs(a.width - b.width) < 0.2
            and abs(a.sill - b.sill) < 0.2)


def _tidy_openings(openings: list[Opening], walls: dict[str, Wall], scan_of: dict[str, int],
                   notes: list[str]) -> list[Opening]:
    """Scans see the same opening twice, or a window inside a door: keep the first, say so.
    (A door in a wall two rooms share, seen by both rooms' scans, is one door: kept once,
    quietly.) Overlap is along the wall *and* in height: a window above a door is its own.
    Each wall's openings are swept in order along it, so this costs n log n."""
    by_wall: dict[str, list[Opening]] = defaultdict(list)
    dropped: set[str] = set()
    for op in openings:
        wall = walls[op.wall_id]
        if op.height <= 0.05 or op.sill >= wall.height - 0.05:
            notes.append(f"{op.kind} {op.id} does not fit in its wall's height; left out")
            dropped.add(op.id)
            continue
        by_wall[op.wall_id].append(op)
    for ops in by_wall.values():
        active: list[Opening] = []
        for op in sorted(ops, key=lambda o: o.offset - o.width / 2):
            lo = op.offset - op.width / 2
            active = [k for k in active if k.offset + k.width / 2 - 1e-3 > lo]
            clash = next((k for k in active if k.sill < op.sill + op.height - 1e-3
                          and op.sill < k.sill + k.height - 1e-3), None)
            if clash is None:
                active.append(op)
                continue
            dropped.add(op.id)
            one, other = scan_of.get(op.id, -1), scan_of.get(clash.id, -1)
            if _same(op, clash) and one != other and min(one, other) >= 0:
                continue  # the same door as its other room saw it
            notes.append(f"{op.kind} {op.id} overlaps {clash.kind} {clash.id} in the same "
                         "wall; left out")
    return [op for op in openings if op.id not in dropped]


# --- unscanned sides ---

def _unscanned(rooms: list[Room], walls: list[Wall],
               notes: list[str]) -> list[Room]:
    """Each room's outline less what walls and neighbouring rooms cover: its unscanned sides."""
    out = []
    trees: dict[int, tuple[STRtree, list[BaseGeometry]]] = {}
    covers: dict[int, list[BaseGeometry]] = defaultdict(list)
    for w in walls:
        covers[w.storey].append(LineString([w.start, w.end]).buffer(w.thickness / 2 + 0.15))
    polys = {r.id: Polygon(r.polygon) for r in rooms}
    for r in rooms:
        covers[r.storey].append(polys[r.id].buffer(MAX_WALL_THICKNESS))
    owners: dict[int, list[str | None]] = defaultdict(list)
    for w in walls:
        owners[w.storey].append(None)
    for r in rooms:
        owners[r.storey].append(r.id)
    for storey, geoms in covers.items():
        trees[storey] = (STRtree(geoms), geoms)
    for room in rooms:
        poly = polys[room.id]
        tree, geoms = trees[room.storey]
        near = [geoms[int(i)] for i in tree.query(poly.buffer(0.3))
                if owners[room.storey][int(i)] != room.id]
        rest = poly.exterior.difference(unary_union(near)) if near else poly.exterior
        parts = [g for g in getattr(rest, "geoms", [rest])
                 if isinstance(g, LineString) and g.length >= 0.3]
        total = sum(g.length for g in parts)
        if total < UNSCANNED_MIN:
            out.append(room)
            continue
        segments = [((round(a[0], 4), round(a[1], 4)), (round(b[0], 4), round(b[1], 4)))
                    for g in parts for a, b in itertools.pairwise(g.coords)]
        notes.append(f"{room.name}: {total:.1f} m of its outline has no wall along it (a side "
                     "the scan did not cover)")
        out.append(room.model_copy(update={"unscanned": segments}))
    return out


# --- the import ---

def from_roomplan(doc: dict[str, Any], name: str = "Scanned home",
                  limits: Limits | None = None) -> FloorPlan:
    """Turn a ``CapturedRoom`` or ``CapturedStructure`` export into our plan.

    Real scans are messy; what cannot be used as it is (a wall under 5 cm, a floor outline
    that crosses itself, an opening seen twice) is repaired or left out, and the plan's
    ``notes`` say so. Anything that is not a number a house can have is refused (422) with
    the field named.
    """
    limits = limits or Limits()
    _check_counts(doc, limits)
    try:
        export = CapturedStructure.model_validate(doc, context=limits.context())
    except ValidationError as exc:
        raise invalid("the RoomPlan export is not valid", exc) from exc
    notes: list[str] = []
    try:
        return _build(export, name, limits, notes)
    except ValidationError as exc:
        raise invalid("the RoomPlan export gives no usable plan", exc) from exc


def _build(doc: CapturedStructure, name: str, limits: Limits, notes: list[str]) -> FloorPlan:
    pieces: list[_Piece] = []
    pieces_of: dict[str, list[str]] = defaultdict(list)
    ids = _Ids()
    for i, raw in enumerate(_chosen(doc, "walls")):
        source = raw.identifier or f"wall-{i}"
        found, chord = _pieces(raw, source)
        if chord:
            notes.append(f"wall {source}'s curve does not fit it; drawn straight")
        for piece in found:
            if piece.length < 0.05:
                notes.append(f"wall {piece.id} is shorter than 5 cm; left out")
                continue
            piece.id = ids.take(piece.id, f"wall-{i}")
            pieces_of[source].append(piece.id)
            pieces.append(piece)
    outlines = [o for o in (_usable(o, notes) for o in _outlines(doc, pieces)) if o]
    if not outlines:  # every floor was unusable: the walls say where the rooms are
        outlines = [o for o in (_usable(o, notes) for o in _outlines_of_walls(doc, pieces))
                    if o]
    if not outlines:
        raise InvalidInput(IMPORT("floorplan.no_room"))
    rooms = _rooms(outlines, list(doc.sections) if doc.rooms else [])
    built, went = _merge_faces(pieces, notes)
    index = _RoomIndex(rooms)
    walls = [_outwards(b, index) for b in built]
    bottoms = {b.wall.id: b.bottom for b in built}
    by_id = {w.id: w for w in walls}
    wall_index = _WallIndex(walls)
    centre_points = [Polygon(r.polygon).centroid for r in rooms]
    centres = STRtree(centre_points) if rooms else None
    openings: list[Opening] = []
    op_ids = _Ids()
    scan_of: dict[str, int] = {}
    for kind, key in KINDS:
        for i, (raw, scan) in enumerate(_chosen_from(doc, key)):
            ident = op_ids.take(raw.identifier, f"{kind}-{i}")
            scan_of[ident] = scan
            m = _matrix(raw)
            parent = list(dict.fromkeys(went[p] for p in pieces_of.get(
                raw.parentIdentifier or "", [])))
            host = wall_index.nearest(float(m[0, 3]), float(m[2, 3]), raw.story,
                                      [by_id[p] for p in parent])
            if host is None:
                notes.append(f"{kind} {ident} has no wall; left out")
                continue
            made = _opening(raw, ident, kind, host, bottoms[host.id], centres, centre_points,
                            notes)
            if made is not None:
                openings.append(made)
    openings = _tidy_openings(openings, by_id, scan_of, notes)
    rooms = _unscanned(rooms, walls, notes)
    fixtures: list[Fixture] = []
    objects: list[DetectedObject] = []
    for i, raw in enumerate(_chosen(doc, "objects")):
        m = _matrix(raw)
        category = raw.kind()
        x, z = round(float(m[0, 3]), 4), round(float(m[2, 3]), 4)
        rotation = math.degrees(math.atan2(float(m[0, 2]), float(m[2, 2])))
        objects.append(DetectedObject(category=category, position=(x, z),
                                      size=(raw.dimensions[0], raw.dimensions[1],
                                            raw.dimensions[2]),
                                      rotation=round(rotation, 2), storey=raw.story))
        for j, kind in enumerate(FIXTURES_OF.get(category, ())):
            wall_distance = None
            if kind == "drain":
                near = wall_index.nearest(x, z, raw.story)
                if near is not None:
                    line = LineString([near.start, near.end])
                    wall_distance = round(line.distance(Point(x, z)) - near.thickness / 2, 3)
            fixtures.append(Fixture(id=f"{raw.identifier or i}-{kind}-{j}",
                                    kind=kind, position=(x, z), storey=raw.story,  # type: ignore[arg-type]
                                    wall_distance=max(wall_distance, 0.0)
                                    if wall_distance is not None else None,
                                    source=f"roomplan:{category}"))
    return FloorPlan.model_validate(
        {"name": name, "rooms": rooms, "walls": walls, "openings": openings,
         "fixtures": fixtures, "objects": objects, "notes": notes},
        context=limits.context())


def parse_plan(doc: Any, name: str | None = None, limits: Limits | None = None) -> FloorPlan:
    """Our own JSON or a RoomPlan export, told apart by their shape."""
    limits = limits or Limits()
    if not isinstance(doc, dict):
        raise InvalidInput(IMPORT("floorplan.not_an_object"))
    if doc.get("format") == "homeloop.floorplan":
        try:
            plan = FloorPlan.model_validate(doc, context=limits.context())
        except ValidationError as exc:
            raise invalid("invalid floor plan", exc) from exc
        return plan.model_copy(update={"name": name}) if name else plan
    if looks_like_roomplan(doc):
        return from_roomplan(doc, name or "Scanned home", limits)
    raise InvalidInput(IMPORT("floorplan.unknown_format"))
