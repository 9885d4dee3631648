"""Colour variants: ``KHR_materials_variants`` as a supplier sends it, or built from materials
the supplier marks per colour. Pure (glTF JSON in, glTF JSON out).

A supplier without a tool that writes the extension marks each colour's material by its name:
``<part> colour:<name>``, optionally ``colour:<name>=<中文名>`` (``sofa colour:grey=灰色``,
``sofa colour:beige=米色``, ``legs colour:oak``). Materials with the same ``<part>`` are one
part's colours; a primitive that uses one of them shows that colour by default and gets a
mapping to each of its part's other colours. Variants are named by colour and ordered as the
materials first name them. A model that already has the extension is left as it is.

A variant's Chinese name, when the supplier gives one, is kept in its ``extras.name_zh``.
"""

from __future__ import annotations

import re
from typing import Any

EXT = "KHR_materials_variants"
MARK = re.compile(r"^(?P<part>.*?)\s*colour:\s*(?P<name>[^=]+?)\s*(?:=\s*(?P<zh>.+?)\s*)?$",
                  re.IGNORECASE)


def names(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each variant's name and, if the model gives one, its Chinese name."""
    found = doc.get("extensions", {}).get(EXT, {}).get("variants", [])
    out = []
    for i, v in enumerate(found):
        zh = (v.get("extras") or {}).get("name_zh") if isinstance(v, dict) else None
        out.append((str(v.get("name", f"variant {i}")), zh if isinstance(zh, str) else None))
    return out


def from_marked_materials(doc: dict[str, Any]) -> bool:
    """Build ``KHR_materials_variants`` from ``colour:`` material names, in place; whether it
    did (False when the model has the extension already or marks fewer than two colours)."""
    if EXT in doc.get("extensions", {}):
        return False
    parts: dict[str, dict[str, int]] = {}  # part -> colour -> material
    order: list[str] = []
    chinese: dict[str, str] = {}
    for index, material in enumerate(doc.get("materials", [])):
        match = MARK.match(str(material.get("name", "")))
        if match is None:
            continue
        colour = match["name"]
        parts.setdefault(match["part"].lower(), {}).setdefault(colour, index)
        if colour not in order:
            order.append(colour)
        if match["zh"]:
            chinese.setdefault(colour, match["zh"])
    if len(order) < 2:
        return False
    part_of = {m: colours for colours in parts.values() for m in colours.values()}
    mapped = False
    for mesh in doc.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            colours = part_of.get(primitive.get("material", -1))
            if colours is None or len(colours) < 2:
                continue
            primitive.setdefault("extensions", {})[EXT] = {"mappings": [
                {"material": m, "variants": [order.index(c)]} for c, m in colours.items()]}
            mapped = True
    if not mapped:
        return False
    doc.setdefault("extensions", {})[EXT] = {"variants": [
        {"name": c, **({"extras": {"name_zh": chinese[c]}} if c in chinese else {})}
        for c in order]}
    used = doc.setdefault("extensionsUsed", [])
    if EXT not in used:
        used.append(EXT)
    return True

