"""Apple RoomPlan ``CapturedRoom`` JSON into a :class:`FloorPlan` (pure).

RoomPlan writes metres, Y up, and each surface's pose as a 4×4 column-major ``transform``;
``dimensions`` are [width, height, depth]. A wall's local X runs along it; doors, windows and
openings name their wall in ``parentIdentifier``. A floor's ``polygonCorners`` lie in its own
XY plane and its transform turns them into the room's XZ plane. Merged exports (several rooms
and storeys) carry ``story`` on every element; curved walls (``curve``) become their chord;
walls with ``polygonCorners`` take their outline's extent. The opaque ``coreModel`` is never
parsed: the caller keeps the raw export aside.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError
from shapely.geometry import MultiLineString, Point, Polygon
from shapely.ops import polygonize, unary_union
from shapely.validation import make_valid

from floorplans.schemas import DetectedObject, Fixture, FloorPlan, Opening, Room, Wall
from floorplans.validation import MIN_ROOM_AREA
from homeloop.errors import InvalidInput

WALL_THICKNESS = 0.1
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
ROOM_NAMES = {"diningRoom": "Dining room", "livingRoom": "Living room", "bedroom": "Bedroom",
              "bathroom": "Bathroom", "kitchen": "Kitchen", "unidentified": "Room"}


def looks_like_roomplan(doc: dict[str, Any]) -> bool:
    return ("walls" in doc and "coreModel" in doc) or (
        isinstance(doc.get("walls"), list) and any("transform" in w for w in doc["walls"]))


def _matrix(element: dict[str, Any]) -> NDArray[np.float64]:
    t = element.get("transform")
    if not isinstance(t, list) or len(t) != 16:
        raise InvalidInput(f"RoomPlan element {element.get('identifier')} has no 4×4 transform")
    return np.asarray(t, dtype=np.float64).reshape(4, 4).T


def _key(obj: Any) -> str:
    if isinstance(obj, dict) and obj:
        return str(next(iter(obj)))
    return str(obj or "")


def _xz(m: NDArray[np.float64], local: tuple[float, float, float]) -> tuple[float, float]:
    p = m @ np.array([*local, 1.0])
    return (round(float(p[0]), 4), round(float(p[2]), 4))


def _angle(value: Any) -> float:
    """A RoomPlan angle: a number (radians) or an encoded ``Measurement<UnitAngle>``."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        unit = value.get("unit")
        symbol = unit.get("symbol") if isinstance(unit, dict) else unit
        number = float(value["value"])
        return math.radians(number) if symbol in ("°", "deg", "degrees") else number
    raise ValueError(f"not an angle: {value!r}")


def _arc(raw: dict[str, Any], lo_x: float, hi_x: float) -> list[tuple[float, float]] | None:
    """A curved wall's arc in its local (x, z), or None when the curve does not fit the wall.

    ``curve`` has start and end angles, a radius and a centre in the wall's local xz. The
    arc must end where the wall's straight extent ends (within a tenth of its width), which
    also settles which way the angles turn; otherwise the wall stays straight.
    """
    curve = raw.get("curve")
    if not isinstance(curve, dict):
        return None
    try:
        a0, a1 = _angle(curve["startAngle"]), _angle(curve["endAngle"])
        radius = float(curve["radius"])
        centre = curve.get("center") or [0.0, 0.0]
        cx, cz = float(centre[0]), float(centre[1])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if radius <= 0 or math.isclose(a0, a1):
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


def _walls(raw: dict[str, Any], index: int) -> tuple[list[Wall], float, bool]:
    """The wall on the plan (a curved one as several straight pieces along its arc), the
    height of its bottom (the storey's floor), and whether a curve had to become its chord."""
    m = _matrix(raw)
    width, height = float(raw["dimensions"][0]), float(raw["dimensions"][1])
    corners = raw.get("polygonCorners") or []
    lo_x, hi_x = -width / 2, width / 2
    if corners:
        xs = [float(c[0]) for c in corners]
        ys = [float(c[1]) for c in corners]
        lo_x, hi_x = min(xs), max(xs)
        height = max(ys) - min(ys) if max(ys) > min(ys) else height
    ident = str(raw.get("identifier") or f"wall-{index}")
    common = {"thickness": WALL_THICKNESS, "height": max(height, 0.1),
              "storey": int(raw.get("story") or 0)}
    bottom = float(m[1, 3]) - height / 2
    arc = _arc(raw, lo_x, hi_x)
    if arc is None:
        wall = Wall(id=ident, start=_xz(m, (lo_x, 0, 0)), end=_xz(m, (hi_x, 0, 0)),
                    **common)  # type: ignore[arg-type]
        return [wall], bottom, bool(raw.get("curve"))
    points = [_xz(m, (x, 0, z)) for x, z in arc]
    pieces = [Wall(id=ident if i == 0 else f"{ident}~{i + 1}", start=a, end=b,
                   **common)  # type: ignore[arg-type]
              for i, (a, b) in enumerate(itertools.pairwise(points))]
    return pieces, bottom, False


def _opening(raw: dict[str, Any], kind: str, wall: Wall, wall_bottom: float,
             room_centres: list[tuple[float, float]]) -> Opening:
    m = _matrix(raw)
    width, height = float(raw["dimensions"][0]), float(raw["dimensions"][1])
    cx, cz = float(m[0, 3]), float(m[2, 3])
    sx, sz = wall.start
    ex, ez = wall.end
    length = math.hypot(ex - sx, ez - sz)
    ux, uz = (ex - sx) / length, (ez - sz) / length
    offset = (cx - sx) * ux + (cz - sz) * uz
    half = min(width, length) / 2
    offset = min(max(offset, half), length - half)
    sill = max(0.0, float(m[1, 3]) - height / 2 - wall_bottom)
    if kind == "door":
        sill = 0.0
    height = min(height, wall.height - sill)
    # RoomPlan does not say which way a door opens: into the room it belongs to.
    swing = "left"
    if room_centres:
        rx, rz = min(room_centres, key=lambda c: math.hypot(c[0] - cx, c[1] - cz))
        # left of the direction start→end is (-uz, ux)
        swing = "left" if (rx - cx) * -uz + (rz - cz) * ux >= 0 else "right"
    return Opening(id=str(raw.get("identifier")), wall_id=wall.id, kind=kind,  # type: ignore[arg-type]
                   offset=round(offset, 4), width=round(min(width, length), 4),
                   height=round(height, 4), sill=round(sill, 4), swing=swing)  # type: ignore[arg-type]


def _outwards(wall: Wall, room_centres: list[tuple[float, float]]) -> Wall:
    """RoomPlan gives a wall's room-side surface; our walls are centred on their line."""
    if not room_centres:
        return wall
    (sx, sz), (ex, ez) = wall.start, wall.end
    length = math.hypot(ex - sx, ez - sz)
    nx, nz = -(ez - sz) / length, (ex - sx) / length
    mx, mz = (sx + ex) / 2, (sz + ez) / 2
    rx, rz = min(room_centres, key=lambda c: math.hypot(c[0] - mx, c[1] - mz))
    sign = -1.0 if (rx - mx) * nx + (rz - mz) * nz > 0 else 1.0
    dx, dz = sign * nx * wall.thickness / 2, sign * nz * wall.thickness / 2
    return wall.model_copy(update={"start": (round(sx + dx, 4), round(sz + dz, 4)),
                                   "end": (round(ex + dx, 4), round(ez + dz, 4))})


def _nearest_wall(walls: list[Wall], x: float, z: float, storey: int) -> Wall | None:
    candidates = [w for w in walls if w.storey == storey] or walls
    if not candidates:
        return None
    return min(candidates, key=lambda w: MultiLineString([[w.start, w.end]]).distance(Point(x, z)))


def _rooms(doc: dict[str, Any], walls: list[Wall]) -> list[Room]:
    sections = [s for s in doc.get("sections") or [] if isinstance(s, dict)]
    rooms: list[Room] = []
    for i, raw in enumerate(doc.get("floors") or []):
        m = _matrix(raw)
        corners = raw.get("polygonCorners") or []
        if len(corners) >= 3:
            pts = [_xz(m, (float(c[0]), float(c[1]), float(c[2]) if len(c) > 2 else 0.0))
                   for c in corners]
        else:  # a floor without corners: its rectangle
            w, d = float(raw["dimensions"][0]) / 2, float(raw["dimensions"][1]) / 2
            pts = [_xz(m, (x, y, 0)) for x, y in ((-w, -d), (w, -d), (w, d), (-w, d))]
        rooms.append(Room(id=str(raw.get("identifier") or f"room-{i}"), name="Room",
                          storey=int(raw.get("story") or 0), polygon=pts))
    if not rooms and walls:  # no floor scanned: the areas the walls close, else their hull
        lines = [(w.start, w.end) for w in walls]
        faces = [p for p in polygonize(unary_union(MultiLineString(lines))) if p.area > 0.5]
        if not faces:
            hull = MultiLineString(lines).convex_hull
            faces = [hull] if isinstance(hull, Polygon) else []
        for i, face in enumerate(faces):
            rooms.append(Room(id=f"room-{i}", name="Room", storey=walls[0].storey,
                              polygon=[(round(x, 4), round(y, 4))
                                       for x, y in list(face.exterior.coords)[:-1]]))
    # name each room after the section labelled inside it (or nearest to it)
    for room in rooms:
        poly = Polygon(room.polygon)
        best = None
        for s in sections:
            centre = s.get("center") or [0, 0, 0]
            d = poly.distance(Point(float(centre[0]), float(centre[2])))
            if int(s.get("story") or 0) == room.storey and (best is None or d < best[0]):
                best = (d, str(s.get("label") or "unidentified"))
        if best is not None:
            room.name = ROOM_NAMES.get(best[1], best[1])
    counts: dict[str, int] = {}
    for room in rooms:
        counts[room.name] = counts.get(room.name, 0) + 1
        if counts[room.name] > 1:
            room.name = f"{room.name} {counts[room.name]}"
    return rooms


def _valid_room(room: Room, notes: list[str]) -> Room | None:
    """A scanned floor whose outline crosses itself is repaired; a sliver is dropped."""
    poly = Polygon(room.polygon)
    if not poly.is_valid:
        fixed = make_valid(poly)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon)]
        if not parts:
            notes.append(f"floor {room.id} has no usable outline and was left out")
            return None
        poly = max(parts, key=lambda g: g.area)
        notes.append(f"the outline of floor {room.id} crossed itself and was repaired")
        room = room.model_copy(update={"polygon": [(round(x, 4), round(y, 4))
                                                   for x, y in list(poly.exterior.coords)[:-1]]})
    if poly.area < MIN_ROOM_AREA:
        notes.append(f"floor {room.id} ({poly.area:.2f} m²) is too small for a room; left out")
        return None
    return room


def _tidy_openings(openings: list[Opening], walls: dict[str, Wall],
                   notes: list[str]) -> list[Opening]:
    """Scans see the same opening twice or a window inside a door: keep the first, say so."""
    kept: list[Opening] = []
    for op in openings:
        wall = walls[op.wall_id]
        if op.height <= 0.05 or op.sill >= wall.height - 0.05:
            notes.append(f"{op.kind} {op.id} does not fit in its wall's height; left out")
            continue
        lo, hi = op.offset - op.width / 2, op.offset + op.width / 2
        clash = next((k for k in kept if k.wall_id == op.wall_id
                      and lo < k.offset + k.width / 2 - 1e-3
                      and k.offset - k.width / 2 < hi - 1e-3), None)
        if clash is not None:
            notes.append(f"{op.kind} {op.id} overlaps {clash.kind} {clash.id} in the same wall; "
                         "left out")
            continue
        kept.append(op)
    return kept


def from_roomplan(doc: dict[str, Any], name: str = "Scanned home") -> FloorPlan:
    """Turn a ``CapturedRoom`` (or merged ``CapturedStructure``) export into our plan.

    Real scans are messy; what cannot be used as it is (a wall under 5 cm, a floor outline
    that crosses itself, two openings seen in the same place) is repaired or left out, and
    the plan's ``notes`` say so.
    """
    notes: list[str] = []
    try:
        built: list[tuple[Wall, float]] = []
        pieces_of: dict[str, list[str]] = {}
        for i, raw in enumerate(doc.get("walls") or []):
            pieces, bottom, chord = _walls(raw, i)
            source = pieces[0].id
            if chord:
                notes.append(f"wall {source}'s curve does not fit it; drawn straight")
            for wall in pieces:
                if math.hypot(wall.end[0] - wall.start[0], wall.end[1] - wall.start[1]) < 0.05:
                    notes.append(f"wall {wall.id} is shorter than 5 cm; left out")
                    continue
                if wall.id in {w.id for w, _ in built}:
                    wall = wall.model_copy(update={"id": f"{wall.id}-{i}"})
                pieces_of.setdefault(source, []).append(wall.id)
                built.append((wall, bottom))
        walls = [w for w, _ in built]
        bottoms = {w.id: b for w, b in built}
        rooms = [r for r in (_valid_room(r, notes) for r in _rooms(doc, walls)) if r]
        if not rooms and doc.get("floors"):
            rooms = [r for r in (_valid_room(r, notes) for r in _rooms({**doc, "floors": []},
                                                                       walls)) if r]
        centres = [(Polygon(r.polygon).centroid.x, Polygon(r.polygon).centroid.y) for r in rooms]
        walls = [_outwards(w, centres) for w in walls]
        by_id = {w.id: w for w in walls}
        openings: list[Opening] = []
        for kind, key in (("door", "doors"), ("window", "windows"), ("opening", "openings")):
            for raw in doc.get(key) or []:
                m = _matrix(raw)
                storey = int(raw.get("story") or 0)
                parent = [by_id[w] for w in pieces_of.get(str(raw.get("parentIdentifier")), [])]
                host = _nearest_wall(parent or walls, float(m[0, 3]), float(m[2, 3]), storey)
                if host is None:
                    notes.append(f"{kind} {raw.get('identifier')} has no wall; left out")
                    continue
                openings.append(_opening(raw, kind, host, bottoms[host.id], centres))
        openings = _tidy_openings(openings, by_id, notes)
        fixtures: list[Fixture] = []
        objects: list[DetectedObject] = []
        for i, raw in enumerate(doc.get("objects") or []):
            m = _matrix(raw)
            category = _key(raw.get("category"))
            storey = int(raw.get("story") or 0)
            x, z = round(float(m[0, 3]), 4), round(float(m[2, 3]), 4)
            dims = [float(v) for v in raw.get("dimensions") or (0, 0, 0)]
            rotation = math.degrees(math.atan2(float(m[0, 2]), float(m[2, 2])))
            objects.append(DetectedObject(category=category, position=(x, z),
                                          size=(dims[0], dims[1], dims[2]),
                                          rotation=round(rotation, 2), storey=storey))
            for j, kind in enumerate(FIXTURES_OF.get(category, ())):
                wall_distance = None
                if kind == "drain" and walls:
                    near = _nearest_wall(walls, x, z, storey)
                    if near is not None:
                        line = MultiLineString([[near.start, near.end]])
                        wall_distance = round(line.distance(Point(x, z)) - near.thickness / 2, 3)
                fixtures.append(Fixture(id=f"{raw.get('identifier') or i}-{kind}-{j}",
                                        kind=kind, position=(x, z), storey=storey,  # type: ignore[arg-type]
                                        wall_distance=max(wall_distance, 0.0)
                                        if wall_distance is not None else None,
                                        source=f"roomplan:{category}"))
        return FloorPlan(name=name, rooms=rooms, walls=walls, openings=openings,
                         fixtures=fixtures, objects=objects, notes=notes)
    except ValidationError as exc:
        raise InvalidInput(f"the RoomPlan export gives no usable plan: {_errors(exc)}") from exc
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(f"not a RoomPlan CapturedRoom export: {exc}") from exc


def _errors(exc: ValidationError) -> str:
    return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())


def parse_plan(doc: Any, name: str | None = None) -> FloorPlan:
    """Our own JSON or a RoomPlan export, told apart by their shape."""
    if not isinstance(doc, dict):
        raise InvalidInput("a floor plan is a JSON object")
    if doc.get("format") == "homeloop.floorplan":
        try:
            plan = FloorPlan.model_validate(doc)
        except ValidationError as exc:
            raise InvalidInput(f"invalid floor plan: {_errors(exc)}") from exc
        return plan.model_copy(update={"name": name}) if name else plan
    if looks_like_roomplan(doc):
        return from_roomplan(doc, name or "Scanned home")
    raise InvalidInput("unknown floor plan format: expected our JSON "
                       "(format homeloop.floorplan) or a RoomPlan CapturedRoom export")
