"""What is wrong with a floor plan, in words a person can fix (pure)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from homeloop.errors import InvalidInput

if TYPE_CHECKING:
    from floorplans.schemas import FloorPlan

MIN_ROOM_AREA = 0.25  # m²
EPS = 1e-3


def errors_of(exc: ValidationError, at: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic's errors as the API gives them: where (``walls.3.dimensions``) and what."""
    return [{"loc": [*at, *e.get("loc", ())],
             "msg": str(e.get("msg", "")).removeprefix("Value error, ")} for e in exc.errors()]


def invalid(what: str, exc: ValidationError, at: tuple[str | int, ...] = ()) -> InvalidInput:
    """A 422 that names each field (``errors``: where and what), ``at`` the path of what
    was validated within the request."""
    errors = errors_of(exc, at)
    said = "; ".join((".".join(map(str, e["loc"])) + ": " if e["loc"] else "") + e["msg"]
                     for e in errors[:10])
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return InvalidInput(f"{what}: {said}{more}", errors=errors[:50])


def wall_length(start: tuple[float, float], end: tuple[float, float]) -> float:
    return math.hypot(end[0] - start[0], end[1] - start[1])


def problems(plan: FloorPlan) -> list[str]:
    found: list[str] = []
    for kind, ids in (("room", [r.id for r in plan.rooms]), ("wall", [w.id for w in plan.walls]),
                      ("opening", [o.id for o in plan.openings]),
                      ("fixture", [f.id for f in plan.fixtures])):
        found += [f"{kind} id {i!r} is used {n} times" for i, n in Counter(ids).items() if n > 1]
    for room in plan.rooms:
        if not all(math.isfinite(c) for p in room.polygon for c in p):
            found.append(f"room {room.name!r} has a corner that is not a number")
            continue
        poly = Polygon(room.polygon)
        if not poly.is_valid:
            found.append(f"room {room.name!r} is not a simple polygon: its outline crosses "
                         f"itself ({explain_validity(poly)})")
        elif poly.area < MIN_ROOM_AREA:
            found.append(f"room {room.name!r} has an area of {poly.area:.2f} m², too small "
                         "for a room")
    walls = {w.id: w for w in plan.walls}
    for wall in plan.walls:
        if wall_length(wall.start, wall.end) < 0.05:
            found.append(f"wall {wall.id!r} is shorter than 5 cm")
    spans: dict[str, list[tuple[float, float, float, float, str]]] = defaultdict(list)
    for op in plan.openings:
        found_wall = walls.get(op.wall_id)
        if found_wall is None:
            found.append(f"{op.kind} {op.id!r} is in wall {op.wall_id!r}, which does not exist")
            continue
        length = wall_length(found_wall.start, found_wall.end)
        lo, hi = op.offset - op.width / 2, op.offset + op.width / 2
        if lo < -EPS or hi > length + EPS:
            found.append(f"{op.kind} {op.id!r} ({lo:.2f}–{hi:.2f} m along the wall) lies "
                         f"outside its wall {found_wall.id!r}, which is {length:.2f} m long")
        if op.sill + op.height > found_wall.height + EPS:
            found.append(f"{op.kind} {op.id!r} reaches {op.sill + op.height:.2f} m, above its "
                         f"wall's height of {found_wall.height:.2f} m")
        if op.kind == "door" and op.sill > EPS:
            found.append(f"door {op.id!r} starts {op.sill:.2f} m above the floor")
        spans[op.wall_id].append((lo, hi, op.sill, op.sill + op.height, op.id))
    for items in spans.values():
        found += [f"openings {a!r} and {b!r} overlap in their wall"
                  for a, b in overlapping(items)]
    return found


def overlapping(spans: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """The pairs of openings in one wall whose outlines overlap: along the wall *and* in
    height (a window above a door, or two stacked windows, overlap in neither).

    Sorted by where they start along the wall, each is compared with those still open there,
    so a wall of many openings side by side costs n log n.
    """
    clashes: list[tuple[str, str]] = []
    active: list[tuple[float, float, float, float, str]] = []
    for span in sorted(spans):
        lo, _, bottom, top, name = span
        active = [a for a in active if a[1] > lo + EPS]
        clashes += [(a[4], name) for a in active if a[2] < top - EPS and bottom < a[3] - EPS]
        active.append(span)
    return clashes
