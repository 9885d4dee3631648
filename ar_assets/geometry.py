"""Placing a model in the world: units, up axis, the floor, the footprint. Pure (numpy only).

A normalised model is in metres, Y up, standing on the floor (lowest point at y = 0) with the
origin at the centre of its footprint (the middle of the footprint's bounding rectangle on
the floor). The footprint is the convex hull of the model seen from above, on the XZ plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Unit = Literal["m", "cm", "mm", "in", "ft"]
UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
UpAxis = Literal["y", "z"]
# What a piece of furniture or an appliance can plausibly measure, longest side, metres.
PLAUSIBLE_M = (0.02, 12.0)

Points = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Placement:
    matrix: Matrix  # 4x4, applied on top of the model's own scene
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    footprint: list[tuple[float, float]]  # convex hull, counter-clockwise in (x, z)


def axis_scale_matrix(unit: str, up: UpAxis) -> Matrix:
    """Scale to metres, then turn a Z-up model so that its Z is our Y."""
    m = np.eye(4) * UNITS[unit]
    m[3, 3] = 1.0
    if up == "z":  # (x, y, z) -> (x, z, -y): a rotation of -90 degrees about X
        rot = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=float)
        m = rot @ m
    return m


def transform(points: Points, matrix: Matrix) -> Points:
    out: Points = points @ matrix[:3, :3].T + matrix[:3, 3]
    return out


def convex_hull_2d(points: Points) -> Points:
    """Andrew's monotone chain over (n, 2) points; counter-clockwise, no repeated end point."""
    pts = np.unique(np.round(points, 6), axis=0)
    if len(pts) < 3:
        return pts

    def half(seq: Points) -> list[Points]:
        chain: list[Points] = []
        for p in seq:
            while len(chain) >= 2:
                a, b = chain[-2], chain[-1]
                if (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) > 0:
                    break
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


CHUNK = 1 << 18  # rows at a time, so a model of millions of triangles needs little memory


def degenerate_triangles(vertices: npt.NDArray[Any], faces: npt.NDArray[Any]) -> int:
    """How many triangles have (nearly) zero area, counted in chunks."""
    count = 0
    for start in range(0, len(faces), CHUNK):
        f = faces[start:start + CHUNK]
        a = vertices[f[:, 0]].astype(np.float64)
        cross = np.cross(vertices[f[:, 1]] - a, vertices[f[:, 2]] - a)
        count += int((np.einsum("ij,ij->i", cross, cross) <= 1e-24).sum())
    return count


def footprint_candidates(points: Points) -> Points:
    """The (x, z) points that can be on the hull: each chunk's own hull, concatenated."""
    hulls = [convex_hull_2d(points[start:start + CHUNK][:, [0, 2]])
             for start in range(0, len(points), CHUNK)]
    return np.concatenate(hulls) if hulls else np.zeros((0, 2))


def place(points: Points, unit: str, up: UpAxis) -> Placement:
    """The transform that normalises a model whose world-space vertices are ``points``."""
    base = axis_scale_matrix(unit, up)
    world = transform(points, base)
    lo, hi = world.min(axis=0), world.max(axis=0)
    hull = convex_hull_2d(footprint_candidates(world))
    cx, cz = (hull[:, 0].min() + hull[:, 0].max()) / 2, (hull[:, 1].min() + hull[:, 1].max()) / 2
    shift = np.eye(4)
    shift[:3, 3] = (-cx, -lo[1], -cz)
    matrix = shift @ base
    lo2, hi2 = lo + shift[:3, 3], hi + shift[:3, 3]
    foot = [(round(float(x - cx), 5), round(float(z - cz), 5)) for x, z in hull]
    return Placement(matrix, tuple(round(float(v), 5) for v in lo2),  # type: ignore[arg-type]
                     tuple(round(float(v), 5) for v in hi2), foot)  # type: ignore[arg-type]


def unit_hint(longest_m: float) -> str | None:
    """A message asking for a unit when a model's longest side is implausible in metres."""
    low, high = PLAUSIBLE_M
    if low <= longest_m <= high:
        return None
    fits = [u for u, f in UNITS.items() if low <= longest_m * f <= high and u != "m"]
    guess = f"; it would be {longest_m * UNITS[fits[0]]:.2f} m in {fits[0]}" if fits else ""
    return (f"the model is {longest_m:,.3g} m on its longest side, which is not a plausible "
            f"product size{guess}: upload it again with a unit hint (unit=" + (
                fits[0] if fits else "mm") + ")")
