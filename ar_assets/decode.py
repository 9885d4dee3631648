"""Compressed and quantized glTF decoded into plain glTF, so that the pipeline reads any input.

Suppliers send geometry compressed with ``EXT_meshopt_compression`` (gltfpack ``-cc``, our own
``phone`` and ``planner`` files) or ``KHR_draco_mesh_compression`` (Blender, most catalog
exporters), and ``KHR_mesh_quantization`` (integer attributes: gltfpack, our ``vr`` files).
trimesh reads none of them, so :func:`decode_glb` turns such a GLB into a plain one first, with
glTF Transform and meshoptimizer's and Draco's own decoders (npm packages pinned in
``package-lock.json``), run by ``ar_assets/decode.cjs`` with the machine's Node. Materials,
textures, extras and variants are kept; only the geometry's encoding changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ar_assets.report import Report
from ar_assets.sources import Rejected
from ar_assets.validator import node_json

__all__ = ["DECODED", "decode_glb", "needs_decoding"]

SCRIPT = Path(__file__).with_name("decode.cjs")
DECODED = ("EXT_meshopt_compression", "KHR_draco_mesh_compression", "KHR_mesh_quantization")


def needs_decoding(doc: dict[str, Any]) -> list[str]:
    """The extensions of ``doc`` that :func:`decode_glb` takes out."""
    used = doc.get("extensionsUsed", [])
    return [name for name in DECODED if isinstance(used, list) and name in used]


def decode_glb(source: Path, out: Path, *, node: str = "node",
               timeout_s: float = 600.0) -> list[str]:
    """Write ``source`` decoded to ``out``; the extensions decoded.

    Raises :class:`~ar_assets.sources.Rejected` when the compressed data cannot be decoded
    (the file is broken), :class:`~ar_assets.validator.ToolError` when Node cannot run.
    """
    result = node_json([node, str(SCRIPT), str(source), str(out)], "the glTF decoder",
                       timeout_s=timeout_s)
    if "refused" in result:
        report = Report()
        report.error("COMPRESSED_DATA_UNREADABLE", "the model's compressed geometry cannot be "
                     f"decoded: {str(result['refused'])[:500]}")
        raise Rejected(report)
    return [str(name) for name in result.get("decoded", [])]
