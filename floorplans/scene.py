"""A design as a glTF scene: walls with their openings, floors, placed products (pure).

Each wall is drawn in its own vertical plane as a shapely outline (the wall less its doors and
windows, so openings are real holes, never mesh booleans), extruded by its thickness with
trimesh and stood up along its line. Floors are the rooms' polygons, extruded 2 cm downwards.
A product is its AR model at the requested profile, or a box of its catalog dimensions when it
has none; each model is stored once and every placement is a node (with ``extras`` naming the
SKU and the placement) whose children share its meshes.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import trimesh
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from floorplans.geometry import Product, wall_direction
from floorplans.glb import Document
from floorplans.schemas import FloorPlan, Placement, Wall
from homeloop.errors import InvalidInput

log = logging.getLogger(__name__)

STOREY_HEIGHT = 3.0
FLOOR_THICKNESS = 0.02
WALL_RGBA = (0.92, 0.91, 0.89, 1.0)
FLOOR_RGBA = (0.72, 0.58, 0.42, 1.0)
BOX_RGBA = (0.55, 0.62, 0.70, 1.0)


@dataclass(frozen=True, slots=True)
class Built:
    glb: bytes
    triangles: int  # drawn, counting every instance
    nodes: int


def _parts(shape: Polygon | MultiPolygon) -> list[Polygon]:
    if shape.is_empty:
        return []
    return list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]


def wall_outline(wall: Wall, plan: FloorPlan) -> list[Polygon]:
    """The wall's face in its own plane (u along it, v up), less its openings."""
    _, _, length = wall_direction(wall)
    half = wall.thickness / 2
    face: BaseGeometry = box(-half, 0, length + half, wall.height)
    for op in plan.openings:
        if op.wall_id == wall.id:
            hole = box(op.offset - op.width / 2, op.sill, op.offset + op.width / 2,
                       min(op.sill + op.height, wall.height - 0.01))
            face = face.difference(hole)
    return _parts(face) if isinstance(face, Polygon | MultiPolygon) else []


def _merge(meshes: list[trimesh.Trimesh]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    verts, faces, base = [], [], 0
    for m in meshes:
        verts.append(np.asarray(m.vertices))
        faces.append(np.asarray(m.faces) + base)
        base += len(m.vertices)
    return np.vstack(verts), np.vstack(faces)


def wall_meshes(plan: FloorPlan) -> list[trimesh.Trimesh]:
    out = []
    for wall in plan.walls:
        ux, uz, _ = wall_direction(wall)
        nx, nz = -uz, ux  # with u and Y up, a right-handed frame: no mirrored faces
        frame = np.array([[ux, 0, nx, 0], [0, 1, 0, 0], [uz, 0, nz, 0], [0, 0, 0, 1.0]])
        base = wall.storey * STOREY_HEIGHT
        frame[:3, 3] = [wall.start[0] - nx * wall.thickness / 2, base,
                        wall.start[1] - nz * wall.thickness / 2]
        for part in wall_outline(wall, plan):
            mesh = trimesh.creation.extrude_polygon(part, height=wall.thickness)
            mesh.apply_transform(frame)
            out.append(mesh)
    return out


def floor_meshes(plan: FloorPlan) -> list[trimesh.Trimesh]:
    out = []
    for room in plan.rooms:
        mesh = trimesh.creation.extrude_polygon(Polygon(room.polygon), height=FLOOR_THICKNESS)
        # plan (x, y, up) -> glTF (x, -up, y): the top face at the storey's level, facing up
        frame = np.array([[1, 0, 0, 0], [0, 0, -1, room.storey * STOREY_HEIGHT],
                          [0, 1, 0, 0], [0, 0, 0, 1.0]])
        mesh.apply_transform(frame)
        out.append(mesh)
    return out


def _quaternion_y(degrees: float) -> list[float]:
    a = math.radians(degrees) / 2
    return [0.0, math.sin(a), 0.0, math.cos(a)]


def build(plan: FloorPlan, placements: list[Placement], products: Mapping[str, Product],
          models: Mapping[str, bytes | None], *, shared: bool = True) -> Built:
    """The scene as GLB; ``shared=False`` makes the naive scene (a full copy per placement)."""
    doc = Document()
    shell = doc.node({"name": "home"})
    walls = wall_meshes(plan)
    if walls:
        v, f = _merge(walls)
        doc.node({"name": "walls", "mesh": doc.mesh("walls", v, f,
                                                    doc.material("wall", WALL_RGBA))}, shell)
    floors = floor_meshes(plan)
    if floors:
        v, f = _merge(floors)
        doc.node({"name": "floors", "mesh": doc.mesh("floors", v, f,
                                                     doc.material("floor", FLOOR_RGBA))}, shell)
    furniture = doc.node({"name": "products"})
    # A template per model (by content: two SKUs sharing a file share it) or per boxed SKU;
    # its first placement takes its nodes, later ones a copy pointing at the same meshes.
    templates: dict[str, list[int]] = {}
    attached: set[str] = set()
    box_material: int | None = None
    coloured_meshes: dict[tuple[int, str], int] = {}
    for n, p in enumerate(placements):
        product = products.get(p.sku)
        if product is None:
            continue
        model = models.get(p.sku)
        key = (hashlib.sha256(model).hexdigest() if model is not None else f"box {p.sku}")
        if not shared:
            key = f"{key} {n}"
        roots = templates.get(key)
        if roots is None and model is not None:
            try:
                roots = doc.merge(model)
            except InvalidInput:  # not a GLB we can take in: stand in with its box
                log.warning("model of %s is not a usable GLB; drawing its box", p.sku)
                key = f"box {p.sku}" + ("" if shared else f" {n}")
                roots = templates.get(key)
        if roots is None:
            if box_material is None:
                box_material = doc.material("product", BOX_RGBA, 0.7)
            w, d, h = (product.width_mm / 1000, product.depth_mm / 1000,
                       product.height_mm / 1000)
            cube = trimesh.creation.box(extents=(w, h, d))
            cube.apply_translation((0, h / 2, 0))
            mesh = doc.mesh(f"{p.sku} box", np.asarray(cube.vertices),
                            np.asarray(cube.faces), box_material)
            roots = [len(doc.gltf["nodes"])]
            doc.gltf["nodes"].append({"name": f"{p.sku} box", "mesh": mesh})
        templates[key] = roots
        if p.variant is not None and model is not None:
            # the chosen colour is the one the scene shows: that variant's materials selected
            coloured = f"{key} colour {p.variant}"
            if coloured not in templates:
                templates[coloured] = [doc.coloured_tree(r, p.variant, coloured_meshes)
                                       for r in roots]
            key, roots = coloured, templates[coloured]
        children = [doc.clone_tree(r) for r in roots] if key in attached else roots
        attached.add(key)
        extras = {"sku": p.sku, "placement_id": p.id}
        if p.variant is not None:
            extras["variant"] = p.variant
        node = doc.node({"name": f"placement {p.id}",
                         "translation": [p.position[0], p.storey * STOREY_HEIGHT, p.position[1]],
                         "rotation": _quaternion_y(p.rotation), "extras": extras}, furniture)
        doc.gltf["nodes"][node]["children"] = list(children)
    triangles = sum(doc.triangles(r) for r in doc.gltf["scenes"][0]["nodes"])
    return Built(doc.to_bytes(), triangles, len(doc.gltf["nodes"]))
