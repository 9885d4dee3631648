"""A small glTF 2.0 binary writer that can take in whole GLB files (pure).

Scenes combine our own meshes (walls, floors, stand-in boxes) with the AR assets' levels of
detail, which are meshopt-compressed and quantized: they cannot be decoded and re-encoded
here, so their JSON is merged into ours with every index shifted and their binary chunk
appended, byte for byte. A merged model is a template: each placement gets a copy of its node
tree, and every copy points at the same meshes (the model is stored once).
"""

from __future__ import annotations

import copy
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from homeloop.errors import InvalidInput

GLB_MAGIC = 0x46546C67
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942
FLOAT, UINT16, UINT32 = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON document and the binary chunk of a GLB."""
    if len(data) < 20:
        raise InvalidInput("not a GLB: too short")
    magic, version, length = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2 or length > len(data):
        raise InvalidInput("not a glTF 2.0 binary")
    offset, doc, binary = 12, None, b""
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8:offset + 8 + size]
        if kind == JSON_CHUNK:
            doc = json.loads(chunk)
        elif kind == BIN_CHUNK and not binary:
            binary = bytes(chunk)
        offset += 8 + size + (-size % 4)
    if not isinstance(doc, dict):
        raise InvalidInput("a GLB without its JSON chunk")
    return doc, binary


def _pad(data: bytes | bytearray, fill: bytes) -> bytes:
    return bytes(data) + fill * (-len(data) % 4)


@dataclass
class Document:
    """A glTF document being built, with one binary buffer."""

    gltf: dict[str, Any] = field(default_factory=lambda: {
        "asset": {"version": "2.0", "generator": "homeloop floorplans"},
        "scene": 0, "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "materials": [],
        "accessors": [], "bufferViews": [], "buffers": [{"byteLength": 0}]})
    binary: bytearray = field(default_factory=bytearray)

    def _view(self, data: bytes, target: int | None, align: int = 4) -> int:
        self.binary.extend(b"\0" * (-len(self.binary) % align))
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.binary),
                                "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.binary.extend(data)
        self.gltf["bufferViews"].append(view)
        return len(self.gltf["bufferViews"]) - 1

    def _accessor(self, view: int, component: int, count: int, kind: str,
                  **extra: Any) -> int:
        self.gltf["accessors"].append({"bufferView": view, "componentType": component,
                                       "count": count, "type": kind, **extra})
        return len(self.gltf["accessors"]) - 1

    def material(self, name: str, rgba: tuple[float, float, float, float],
                 roughness: float = 0.9) -> int:
        self.gltf["materials"].append({"name": name, "pbrMetallicRoughness": {
            "baseColorFactor": list(rgba), "metallicFactor": 0.0, "roughnessFactor": roughness}})
        return len(self.gltf["materials"]) - 1

    def mesh(self, name: str, vertices: NDArray[np.float64], faces: NDArray[np.int64],
             material: int) -> int:
        """A triangle mesh (flat normals are left to the viewer, as glTF allows)."""
        pos = np.ascontiguousarray(vertices, dtype=np.float32)
        small = len(pos) < 65536
        idx = np.ascontiguousarray(faces, dtype=np.uint16 if small else np.uint32).reshape(-1)
        pos_view = self._view(pos.tobytes(), ARRAY_BUFFER)
        pos_acc = self._accessor(pos_view, FLOAT, len(pos), "VEC3",
                                 min=[float(v) for v in pos.min(axis=0)],
                                 max=[float(v) for v in pos.max(axis=0)])
        idx_view = self._view(idx.tobytes(), ELEMENT_ARRAY_BUFFER)
        idx_acc = self._accessor(idx_view, UINT16 if small else UINT32, len(idx), "SCALAR")
        self.gltf["meshes"].append({"name": name, "primitives": [{
            "attributes": {"POSITION": pos_acc}, "indices": idx_acc, "material": material}]})
        return len(self.gltf["meshes"]) - 1

    def node(self, node: dict[str, Any], parent: int | None = None) -> int:
        self.gltf["nodes"].append(node)
        index = len(self.gltf["nodes"]) - 1
        if parent is None:
            self.gltf["scenes"][0]["nodes"].append(index)
        else:
            self.gltf["nodes"][parent].setdefault("children", []).append(index)
        return index

    def merge(self, data: bytes) -> list[int]:
        """Take a GLB in whole; returns its scene's root nodes (not yet in our scene)."""
        doc, binary = read_glb(data)
        g = self.gltf
        self.binary.extend(b"\0" * (-len(self.binary) % 16))
        bin_offset = len(self.binary)
        self.binary.extend(binary)
        off = {k: len(g.get(k, [])) for k in ("accessors", "bufferViews", "images", "materials",
                                               "meshes", "samplers", "textures", "nodes",
                                               "skins", "cameras")}
        # Document-level extensions that hold lists the model's parts point into (colour
        # variants, lights): merged with their indices shifted. Others are not taken in.
        root_ext = doc.get("extensions", {})
        ours = g.setdefault("extensions", {})
        off_variants = len(ours.get("KHR_materials_variants", {}).get("variants", []))
        if "KHR_materials_variants" in root_ext:
            ours.setdefault("KHR_materials_variants", {"variants": []})["variants"].extend(
                copy.deepcopy(root_ext["KHR_materials_variants"].get("variants", [])))
        off_lights = len(ours.get("KHR_lights_punctual", {}).get("lights", []))
        if "KHR_lights_punctual" in root_ext:
            ours.setdefault("KHR_lights_punctual", {"lights": []})["lights"].extend(
                copy.deepcopy(root_ext["KHR_lights_punctual"].get("lights", [])))
        if not ours:
            g.pop("extensions")
        buffers: dict[int, int] = {}
        for i, buf in enumerate(doc.get("buffers", [])):
            if i == 0 and "uri" not in buf:
                buffers[i] = 0
            else:  # a meshopt fallback buffer (no data) or a data URI: keep it as it is
                g["buffers"].append(copy.deepcopy(buf))
                buffers[i] = len(g["buffers"]) - 1

        def rebase(view: dict[str, Any]) -> None:
            old = view["buffer"]
            view["buffer"] = buffers[old]
            if buffers[old] == 0:
                view["byteOffset"] = view.get("byteOffset", 0) + bin_offset

        for view in copy.deepcopy(doc.get("bufferViews", [])):
            rebase(view)
            meshopt = view.get("extensions", {}).get("EXT_meshopt_compression")
            if meshopt is not None:
                rebase(meshopt)
            g["bufferViews"].append(view)
        for acc in copy.deepcopy(doc.get("accessors", [])):
            if "bufferView" in acc:
                acc["bufferView"] += off["bufferViews"]
            for part in ("indices", "values"):
                sparse = acc.get("sparse", {}).get(part)
                if sparse is not None:
                    sparse["bufferView"] += off["bufferViews"]
            g["accessors"].append(acc)
        for image in copy.deepcopy(doc.get("images", [])):
            if "bufferView" in image:
                image["bufferView"] += off["bufferViews"]
            g.setdefault("images", []).append(image)
        for sampler in copy.deepcopy(doc.get("samplers", [])):
            g.setdefault("samplers", []).append(sampler)
        for tex in copy.deepcopy(doc.get("textures", [])):
            if "source" in tex:
                tex["source"] += off["images"]
            if "sampler" in tex:
                tex["sampler"] += off["samplers"]
            for ext in tex.get("extensions", {}).values():
                if isinstance(ext, dict) and "source" in ext:
                    ext["source"] += off["images"]
            g.setdefault("textures", []).append(tex)
        for mat in copy.deepcopy(doc.get("materials", [])):
            _shift_textures(mat, off["textures"])
            g["materials"].append(mat)
        for mesh in copy.deepcopy(doc.get("meshes", [])):
            for prim in mesh.get("primitives", []):
                prim["attributes"] = {k: v + off["accessors"]
                                      for k, v in prim["attributes"].items()}
                if "indices" in prim:
                    prim["indices"] += off["accessors"]
                if "material" in prim:
                    prim["material"] += off["materials"]
                if "targets" in prim:
                    prim["targets"] = [{k: v + off["accessors"] for k, v in t.items()}
                                       for t in prim["targets"]]
                draco = prim.get("extensions", {}).get("KHR_draco_mesh_compression")
                if draco is not None:
                    draco["bufferView"] += off["bufferViews"]
                variants = prim.get("extensions", {}).get("KHR_materials_variants")
                if variants is not None:
                    for mapping in variants.get("mappings", []):
                        mapping["material"] += off["materials"]
                        mapping["variants"] = [v + off_variants for v in mapping["variants"]]
            g["meshes"].append(mesh)
        for skin in copy.deepcopy(doc.get("skins", [])):
            if "inverseBindMatrices" in skin:
                skin["inverseBindMatrices"] += off["accessors"]
            skin["joints"] = [j + off["nodes"] for j in skin["joints"]]
            if "skeleton" in skin:
                skin["skeleton"] += off["nodes"]
            g.setdefault("skins", []).append(skin)
        for cam in copy.deepcopy(doc.get("cameras", [])):
            g.setdefault("cameras", []).append(cam)
        for node in copy.deepcopy(doc.get("nodes", [])):
            for key in ("mesh", "skin", "camera"):
                if key in node:
                    node[key] += off[key + "es" if key == "mesh" else key + "s"]
            if "children" in node:
                node["children"] = [c + off["nodes"] for c in node["children"]]
            light = node.get("extensions", {}).get("KHR_lights_punctual")
            if light is not None:
                light["light"] += off_lights
            g["nodes"].append(node)
        for key in ("extensionsUsed", "extensionsRequired"):
            merged = sorted(set(g.get(key, [])) | set(doc.get(key, [])))
            if merged:
                g[key] = merged
        scenes = doc.get("scenes") or [{"nodes": list(range(len(doc.get("nodes", []))))}]
        roots = scenes[doc.get("scene", 0)].get("nodes", [])
        return [r + off["nodes"] for r in roots]

    def clone_tree(self, root: int) -> int:
        """A copy of a node and its descendants, sharing their meshes; not yet attached."""
        node = {k: copy.deepcopy(v) for k, v in self.gltf["nodes"][root].items()
                if k != "children"}
        children = [self.clone_tree(c) for c in self.gltf["nodes"][root].get("children", [])]
        if children:
            node["children"] = children
        self.gltf["nodes"].append(node)
        return len(self.gltf["nodes"]) - 1

    def coloured_tree(self, root: int, variant: str,
                      meshes: dict[tuple[int, str], int] | None = None) -> int:
        """A copy of a node and its descendants showing colour ``variant``: a mesh with a
        KHR_materials_variants mapping for it becomes a copy (same accessors) whose primitives
        use that variant's material; other meshes are shared. ``meshes`` keeps the copies
        made, so placements in the same colour share them. Not yet attached."""
        meshes = {} if meshes is None else meshes
        names = [v.get("name") for v in
                 self.gltf.get("extensions", {}).get("KHR_materials_variants", {})
                 .get("variants", [])]
        node = {k: copy.deepcopy(v) for k, v in self.gltf["nodes"][root].items()
                if k != "children"}
        if "mesh" in node:
            key = (node["mesh"], variant)
            if key not in meshes:
                mesh = copy.deepcopy(self.gltf["meshes"][node["mesh"]])
                changed = False
                for prim in mesh.get("primitives", []):
                    for mapping in prim.get("extensions", {}).get(
                            "KHR_materials_variants", {}).get("mappings", []):
                        if any(names[v] == variant for v in mapping["variants"]
                               if v < len(names)):
                            prim["material"] = mapping["material"]
                            changed = True
                if changed:
                    mesh["name"] = f"{mesh.get('name', 'mesh')} ({variant})"
                    self.gltf["meshes"].append(mesh)
                meshes[key] = len(self.gltf["meshes"]) - 1 if changed else node["mesh"]
            node["mesh"] = meshes[key]
        children = [self.coloured_tree(c, variant, meshes)
                    for c in self.gltf["nodes"][root].get("children", [])]
        if children:
            node["children"] = children
        self.gltf["nodes"].append(node)
        return len(self.gltf["nodes"]) - 1

    def triangles(self, node: int) -> int:
        """Triangles drawn for a node and its descendants."""
        n = self.gltf["nodes"][node]
        total = 0
        if "mesh" in n:
            for prim in self.gltf["meshes"][n["mesh"]]["primitives"]:
                if prim.get("mode", 4) != 4:
                    continue
                acc = prim.get("indices", prim["attributes"].get("POSITION"))
                total += int(self.gltf["accessors"][acc]["count"]) // 3
        return total + sum(self.triangles(c) for c in n.get("children", []))

    def to_bytes(self) -> bytes:
        g = self.gltf
        for key in ("materials", "meshes", "accessors", "bufferViews"):
            if not g.get(key):
                g.pop(key, None)
        binary = _pad(self.binary, b"\0")
        g["buffers"][0]["byteLength"] = len(binary)
        if not binary:
            g["buffers"].pop(0)
        text = _pad(json.dumps(g, separators=(",", ":")).encode(), b" ")
        chunks = struct.pack("<II", len(text), JSON_CHUNK) + text
        if binary:
            chunks += struct.pack("<II", len(binary), BIN_CHUNK) + binary
        return struct.pack("<III", GLB_MAGIC, 2, 12 + len(chunks)) + chunks


def _shift_textures(value: Any, offset: int) -> None:
    """Every ``*Texture`` reference in a material (core and extensions) by ``offset``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("Texture") and isinstance(item, dict) and "index" in item:
                item["index"] += offset
            _shift_textures(item, offset)
    elif isinstance(value, list):
        for item in value:
            _shift_textures(item, offset)


def count_triangles(data: bytes) -> int:
    """Triangles a GLB's default scene draws, counting every instance."""
    doc, _ = read_glb(data)
    built = Document(gltf=doc)
    scenes = doc.get("scenes") or [{"nodes": []}]
    return sum(built.triangles(r) for r in scenes[doc.get("scene", 0)].get("nodes", []))
