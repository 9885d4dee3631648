"""Plan geometry shared by the checks and the scenes (pure): footprints, walls, door swings."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import LineString, Point, Polygon, box

from floorplans.schemas import FloorPlan, Opening, Placement, Wall


@dataclass(frozen=True, slots=True)
class Product:
    """What the checks and scenes need of a catalog SKU (millimetres as the catalog has them)."""

    sku: str
    name: str
    category: str
    width_mm: int
    depth_mm: int
    height_mm: int
    box_mm: tuple[int, int, int] | None = None
    rough_in_mm: int | None = None
    needs: tuple[str, ...] = ()


def rotate_xy(x: float, y: float, degrees: float) -> tuple[float, float]:
    """Turn a plan vector as a rotation about glTF's Y turns (x, z)."""
    a = math.radians(degrees)
    return (x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a))


def footprint(placement: Placement, product: Product) -> Polygon:
    w, d = product.width_mm / 1000, product.depth_mm / 1000
    local = box(-w / 2, -d / 2, w / 2, d / 2)
    corners = [rotate_xy(x, y, placement.rotation) for x, y in list(local.exterior.coords)[:-1]]
    return Polygon([(placement.position[0] + x, placement.position[1] + y) for x, y in corners])


def front_point(placement: Placement, product: Product, ahead: float) -> Point:
    """The point ``ahead`` metres in front of the product's front edge, at its middle."""
    fx, fy = rotate_xy(0.0, product.depth_mm / 2000 + ahead, placement.rotation)
    return Point(placement.position[0] + fx, placement.position[1] + fy)


def back_edge(placement: Placement, product: Product) -> LineString:
    w, d = product.width_mm / 2000, product.depth_mm / 2000
    a = rotate_xy(-w, -d, placement.rotation)
    b = rotate_xy(w, -d, placement.rotation)
    px, py = placement.position
    return LineString([(px + a[0], py + a[1]), (px + b[0], py + b[1])])


def wall_direction(wall: Wall) -> tuple[float, float, float]:
    dx, dy = wall.end[0] - wall.start[0], wall.end[1] - wall.start[1]
    length = math.hypot(dx, dy)
    return dx / length, dy / length, length


def wall_polygon(wall: Wall) -> Polygon:
    line = LineString([wall.start, wall.end])
    poly: Polygon = line.buffer(wall.thickness / 2, cap_style="flat")
    return poly


def wall_solid(wall: Wall, plan: FloorPlan) -> Polygon:
    """The wall's footprint less its doors and full-height openings (where one can pass)."""
    solid = wall_polygon(wall)
    ux, uy, _ = wall_direction(wall)
    for op in plan.openings:
        if op.wall_id == wall.id and op.kind in ("door", "opening") and op.sill < 0.3:
            cx = wall.start[0] + ux * op.offset
            cy = wall.start[1] + uy * op.offset
            gap = LineString([(cx - ux * op.width / 2, cy - uy * op.width / 2),
                              (cx + ux * op.width / 2, cy + uy * op.width / 2)])
            cut = gap.buffer(wall.thickness, cap_style="flat")
            result = solid.difference(cut)
            solid = result if isinstance(result, Polygon) else Polygon()
            if solid.is_empty:
                solid = wall_polygon(wall).difference(cut)  # type: ignore[assignment]
    return solid


def opening_centre(op: Opening, wall: Wall) -> Point:
    ux, uy, _ = wall_direction(wall)
    return Point(wall.start[0] + ux * op.offset, wall.start[1] + uy * op.offset)


def door_swing(op: Opening, wall: Wall) -> Polygon:
    """The quarter disc a door's leaf sweeps, on the side it opens to."""
    ux, uy, _ = wall_direction(wall)
    centre = opening_centre(op, wall)
    sign = -1.0 if op.hinge == "start" else 1.0
    hinge = (centre.x + sign * ux * op.width / 2, centre.y + sign * uy * op.width / 2)
    side = 1.0 if op.swing == "left" else -1.0
    nx, ny = -uy * side, ux * side  # into the side it opens to
    half = wall.thickness / 2
    hinge = (hinge[0] + nx * half, hinge[1] + ny * half)
    r = op.width
    # the leaf goes from closed (towards the opening, -sign·u) to open (n): a quarter disc
    along = (-sign * ux, -sign * uy)
    pts = [hinge]
    for i in range(17):
        t = math.pi / 2 * i / 16
        vx = along[0] * math.cos(t) + nx * math.sin(t)
        vy = along[1] * math.cos(t) + ny * math.sin(t)
        pts.append((hinge[0] + r * vx, hinge[1] + r * vy))
    return Polygon(pts)


def inner_point(op: Opening, wall: Wall, room: Polygon, depth: float) -> Point:
    """The point ``depth`` metres from the opening's centre, on the room's side of the wall."""
    ux, uy, _ = wall_direction(wall)
    c = opening_centre(op, wall)
    a = Point(c.x - uy * depth, c.y + ux * depth)
    b = Point(c.x + uy * depth, c.y - ux * depth)
    return a if room.distance(a) <= room.distance(b) else b



def door_probes(op: Opening, wall: Wall) -> tuple[Point, Point]:
    """Two points 30 cm beyond a door's wall, on its left and on its right (looking from the
    wall's start to its end): which rooms they fall in are the rooms the door joins."""
    ux, uy, _ = wall_direction(wall)
    c = opening_centre(op, wall)
    depth = wall.thickness / 2 + 0.3
    return (Point(c.x - uy * depth, c.y + ux * depth), Point(c.x + uy * depth, c.y - ux * depth))
