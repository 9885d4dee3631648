"""``homeloop bench assets``: every profile of real and generated models, against gltfpack alone.

With ``--big``, the worst inputs the limits accept (a GLB at the upload limit, a zip that
inflates to the unpacked limit around a model at the packed limit, the largest textures times
the accepted count) are each checked by a fresh API process and built by a fresh worker
process, and the peak resident memory of both process trees together (API, worker, Node and
gltfpack) is printed; the last line ends with ``worst_tree_mb``.

Models: the Poly Haven samples (a glTF with its files, zipped as a supplier sends them), a box
with a 4096 px texture, and a generated scan-like mesh of about a million triangles. For each,
the whole processing (checks, Khronos validation of input and outputs, normalising, every
profile) is timed; each output's size, triangles, largest texture and validator errors are
printed, next to gltfpack's own output for the same target (the same triangle count, meshopt
compression as the profile has, no texture resizing: Debian's gltfpack has no BasisU).
``size_vs_gltfpack`` is the largest ratio of our size to the peer's over all outputs.
"""

from __future__ import annotations

import io
import json
import os
import resource
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ar_assets import service
from ar_assets.lod import gltfpack
from ar_assets.profiles import PROFILES
from ar_assets.validator import validate_glb
from homeloop.settings import PROJECT_ROOT, Settings

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "models"
DENSE = "scan_1m"


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    path: Path
    fmt: str
    unit: str | None = None


def scan_like_mesh(triangles: int = 1_000_000, seed: int = 7) -> Any:
    """A noisy closed blob like a raw scan of a pouf: a displaced, subdivided sphere."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=8)  # 1,310,720 triangles
    keep = sphere.faces[: triangles - triangles % 2]
    rng = np.random.default_rng(seed)
    verts = sphere.vertices * (1 + 0.03 * rng.standard_normal((len(sphere.vertices), 1)))
    verts *= (0.45, 0.25, 0.45)
    mesh = trimesh.Trimesh(verts, keep, process=False)
    return mesh


def _zip_folder(folder: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")


def models(work: Path) -> list[Model]:
    import trimesh as untyped
    from PIL import Image

    trimesh: Any = untyped  # no type hints on its constructors and exporters

    found = []
    for folder in sorted(p for p in SAMPLES.glob("*") if p.is_dir()):
        out = work / f"{folder.name}.zip"
        _zip_folder(folder, out)
        found.append(Model(folder.name, out, "zip"))
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 255, (4096, 4096, 3), dtype=np.uint8))
    box = trimesh.creation.box(extents=(0.6, 0.6, 0.6))
    box.visual = trimesh.visual.TextureVisuals(uv=rng.random((len(box.vertices), 2)), image=img)
    textured = work / "box_4k.glb"
    textured.write_bytes(trimesh.Scene(box).export(file_type="glb"))
    found.append(Model("box_4k_texture", textured, "glb"))
    dense = work / f"{DENSE}.glb"
    dense.write_bytes(trimesh.Scene(scan_like_mesh()).export(file_type="glb"))
    found.append(Model(DENSE, dense, "glb"))
    return found


def _peak_mb() -> tuple[float, float]:
    """Peak RSS of this process and of the largest child (Node, gltfpack) so far, in MB.

    A child's figure counts what it shared with this process when it was forked, so it is
    never below this process's size at that moment: an upper bound for the tool itself.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tools = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, tools


def run_assets_bench(settings: Settings, say: Callable[[str], None], *,
                     big: bool = False) -> bool:
    """Print the figures; the last line is the summary. True when all valid and in budget.

    With ``big``, the worst accepted inputs are measured too (:func:`worst_cases`) and the
    summary ends with ``worst_tree_mb``; over 1 GB is a failure."""
    tools = service.tools_from(settings)
    all_valid = within = True
    worst_ratio = 0.0
    dense_s = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = models(root)
        say(f"{'model':<24} {'profile':<8} {'bytes':>10} {'tris':>9} {'tex':>5} {'err':>3} "
            f"{'budget':>6} {'gltfpack':>10} {'ratio':>6}")
        for model in cases:
            work = root / model.name
            work.mkdir()
            started = time.perf_counter()
            built = service.build(settings, model.path, model.fmt, model.unit, None, work)
            seconds = time.perf_counter() - started
            if model.name == DENSE:
                dense_s = seconds
            for name, lod in built.lods.items():
                profile = PROFILES[name]
                ok = service.within_budget(lod, profile)
                peer = work / f"peer-{name}.glb"
                gltfpack(tools, built.source_glb, peer,
                         ratio=min(1.0, lod.triangles / max(built.triangles, 1)),
                         meshopt=profile.meshopt)
                peer_size = peer.stat().st_size
                ratio = lod.size / peer_size
                worst_ratio = max(worst_ratio, ratio)
                all_valid &= lod.validation.errors == 0 and validate_glb(
                    lod.path.read_bytes(), node=tools.node).errors == 0
                within &= ok
                say(f"{model.name:<24} {name:<8} {lod.size:>10,} {lod.triangles:>9,} "
                    f"{lod.max_texture:>5} {lod.validation.errors:>3} {ok!s:>6} "
                    f"{peer_size:>10,} {ratio:>6.2f}")
            own, children = _peak_mb()
            say(f"{model.name:<24} {built.triangles:,} triangles in, all profiles in "
                f"{seconds:.2f} s; peak RSS so far: python {own:.0f} MB, "
                f"largest child {children:.0f} MB")
    summary = (f"assets: {len(cases)} models all_valid: {all_valid} within_budget: {within} "
               f"size_vs_gltfpack: {worst_ratio:.2f} time_1m_tris_s: {dense_s:.1f}")
    if not big:
        say(summary)
        return all_valid and within
    from ar_assets.service import WORST_TREE_MB

    worst = worst_cases(settings, say)
    if worst > WORST_TREE_MB:
        say(f"the worst tree ({worst:.0f} MB) is over ar_assets.service.WORST_TREE_MB "
            f"({WORST_TREE_MB}), from which the worker's concurrency is set: raise it")
    say(f"{summary} worst_tree_mb {worst:.0f}")
    return all_valid and within and worst < min(1000, WORST_TREE_MB)


def _tree_mb(pids: list[int]) -> float:
    """Resident memory of these processes and all their descendants, in MB (from /proc).

    A sum of RSS counts pages shared between processes more than once: an upper bound."""
    total_kb = 0
    seen: set[int] = set()
    stack = list(pids)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # the process ended while we looked
    return total_kb / 1024


class _TreeSampler(threading.Thread):
    """Samples the API's and the worker's process trees every few milliseconds; the peaks."""

    def __init__(self, api: int, worker: int, every_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.api, self.worker, self.every_s = api, worker, every_s
        self.peak_api = self.peak_worker = self.peak_tree = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            api, worker = _tree_mb([self.api]), _tree_mb([self.worker])
            self.peak_api = max(self.peak_api, api)
            self.peak_worker = max(self.peak_worker, worker)
            self.peak_tree = max(self.peak_tree, api + worker)
            self.done.wait(self.every_s)

    def stop(self) -> None:
        self.done.set()
        self.join()


def _api_checks(settings: Settings, path: Path, filename: str) -> str:
    """What the API does with an upload before answering (``service.accept_upload``'s checks,
    without the database): detect the format, check a GLB, unpack and pack a zip."""
    from ar_assets import sources

    with path.open("rb") as f:
        fmt = sources.detect(f.read(64), filename)
    if fmt == "glb":
        sources.check_glb(path)
    elif fmt in ("zip", "gltf"):
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            sources.to_glb(path, fmt, Path(tmp), settings.asset_max_upload_bytes * 4,
                           max_model=settings.asset_max_upload_bytes)
    return fmt


def _worker_build(settings: Settings, path: Path, fmt: str) -> tuple[int, float, dict[str, Any]]:
    """What the worker does (``service.build``); triangles, seconds and the report."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        started = time.perf_counter()
        built = service.build(settings, path, fmt, None, None, Path(tmp))
        return built.triangles, time.perf_counter() - started, built.report.to_json()


def _warm(module: str) -> None:
    import importlib

    importlib.import_module(module)
    importlib.import_module("ar_assets.service")


def measure_tree(settings: Settings, path: Path, filename: str) -> dict[str, Any]:
    """Check an upload in an API process, then build it in a worker process, both spawned
    fresh and alive together (as in production, where the API keeps what it grew to);
    the peak memory of each process tree and of the two together."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as api, ctx.Pool(1) as worker:
        api_pid, worker_pid = api.apply(os.getpid), worker.apply(os.getpid)
        # Both import what a running API and worker have loaded before the upload comes.
        api.apply(_warm, ("api.app",))
        worker.apply(_warm, ("homeloop.worker",))
        sampler = _TreeSampler(api_pid, worker_pid)
        sampler.start()
        try:
            fmt = api.apply(_api_checks, (settings, path, filename))
            triangles, seconds, report = worker.apply(_worker_build, (settings, path, fmt))
        finally:
            sampler.stop()
    return {"triangles": triangles, "seconds": seconds, "report": report,
            "api_mb": sampler.peak_api, "worker_mb": sampler.peak_worker,
            "tree_mb": sampler.peak_tree}


def _big_glb(target_bytes: int) -> bytes:
    """A scan-like GLB of just under ``target_bytes``: an icosphere of up to 5.2M triangles."""
    import trimesh as untyped

    trimesh: Any = untyped
    mesh = trimesh.creation.icosphere(subdivisions=9)
    mesh.vertices *= 0.5
    data: bytes = trimesh.Scene(mesh).export(file_type="glb")
    while len(data) > target_bytes:
        mesh = trimesh.Trimesh(mesh.vertices, mesh.faces[: int(len(mesh.faces) * 0.93)],
                               process=False)
        data = trimesh.Scene(mesh).export(file_type="glb")
    return data


def _inflating_zip(glb: bytes, out: Path, unpacked_limit: int) -> None:
    """The GLB as a glTF and a .bin in a zip whose .bin is padded with bytes no view uses,
    up to the unpacked limit; deflated about 40:1, so the zip stays under the upload limit."""
    from ar_assets.lod import read_glb

    doc, blob = read_glb(glb)
    gltf = json.dumps({**doc, "buffers": [{"uri": "scan.bin", "byteLength": len(blob)}]})
    padding = unpacked_limit - len(blob) - len(gltf) - 4096
    rng = np.random.default_rng(5)
    block = bytearray(1 << 20)
    np.frombuffer(block, dtype=np.uint8)[rng.integers(0, len(block), len(block) // 150)] = 7
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("scan/scan.gltf", gltf)
        with zf.open("scan/scan.bin", "w", force_zip64=True) as member:
            member.write(blob)
            left = padding
            while left > 0:
                member.write(block[:min(left, len(block))])
                left -= len(block)


def _texture_glb(count: int, px: int) -> bytes:
    """A box whose material uses ``count`` distinct RGBA textures of ``px`` x ``px``."""
    import trimesh as untyped
    from PIL import Image

    from ar_assets.lod import read_glb, repack

    trimesh: Any = untyped
    ramp = np.linspace(0, 255, px, dtype=np.float32)
    u, v = np.meshgrid(ramp, ramp[::-1])
    rgba = np.stack([u, v, (u + v) / 2, 255 - u / 2], axis=-1).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(png, "PNG", compress_level=6)
    box = trimesh.creation.box(extents=(0.6, 0.6, 0.6))
    box.visual = trimesh.visual.TextureVisuals(
        uv=np.random.default_rng(1).random((len(box.vertices), 2)),
        image=Image.new("RGBA", (4, 4), (200, 100, 50, 255)))
    doc, blob = read_glb(trimesh.Scene(box).export(file_type="glb"))
    material = doc["materials"][0]
    first = doc["images"][0]["bufferView"]
    slots = [("pbrMetallicRoughness", "baseColorTexture"), (None, "normalTexture"),
             (None, "emissiveTexture"), (None, "occlusionTexture"),
             ("pbrMetallicRoughness", "metallicRoughnessTexture")][:count]
    doc["images"], doc["textures"] = [], []
    for i, (parent, slot) in enumerate(slots):
        view = first if i == 0 else len(doc["bufferViews"])
        if i:
            doc["bufferViews"].append({"buffer": 0, "byteOffset": 0, "byteLength": 1})
        doc["images"].append({"bufferView": view, "mimeType": "image/png"})
        doc["textures"].append({"source": i})
        (material.setdefault(parent, {}) if parent else material)[slot] = {"index": i}
    views = {doc["images"][i]["bufferView"]: png.getvalue() for i in range(len(slots))}
    return repack(doc, blob, views)


def worst_cases(settings: Settings, say: Callable[[str], None]) -> float:
    """The worst inputs the limits accept, each checked by an API process and built by a
    worker process; the peak memory of the whole tree. Returns the worst, in MB."""
    from ar_assets.service import MAX_TEXTURE_INPUT, MAX_TEXTURE_PIXELS

    limit = settings.asset_max_upload_bytes
    count = MAX_TEXTURE_PIXELS // MAX_TEXTURE_INPUT**2
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = root / "big.glb"
        big.write_bytes(_big_glb(limit - 64 * 1024))
        _inflating_zip(big.read_bytes(), root / "scan.zip", 4 * limit)
        (root / "textures.glb").write_bytes(_texture_glb(count, MAX_TEXTURE_INPUT))
        cases = [("big GLB", big),
                 ("inflate-to-the-limit zip", root / "scan.zip"),
                 (f"{count} textures of {MAX_TEXTURE_INPUT} px RGBA", root / "textures.glb")]
        for name, path in cases:
            size = path.stat().st_size
            found = measure_tree(settings, path, path.name)
            worst = max(worst, found["tree_mb"])
            textures = found["report"].get("textures", [])
            say(f"{name}: {size / 1e6:.0f} MB upload, {found['triangles']:,} triangles, "
                f"{len(textures)} textures, all profiles in {found['seconds']:.1f} s; peak "
                f"RSS: API {found['api_mb']:.0f} MB, worker with its tools "
                f"{found['worker_mb']:.0f} MB, whole tree {found['tree_mb']:.0f} MB")
    return worst
