"""``homeloop bench assets``: every profile of real and generated models, against gltfpack alone.

Models: the Poly Haven samples (a glTF with its files, zipped as a supplier sends them), a box
with a 4096 px texture, and a generated scan-like mesh of about a million triangles. For each,
the whole processing (checks, Khronos validation of input and outputs, normalising, every
profile) is timed; each output's size, triangles, largest texture and validator errors are
printed, next to gltfpack's own output for the same target (the same triangle count, meshopt
compression as the profile has, no texture resizing: Debian's gltfpack has no BasisU).
``size_vs_gltfpack`` is the largest ratio of our size to the peer's over all outputs.
"""

from __future__ import annotations

import resource
import tempfile
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


def run_assets_bench(settings: Settings, say: Callable[[str], None]) -> bool:
    """Print the figures; the last line is the summary. True when all valid and in budget."""
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
    say(f"assets: {len(cases)} models all_valid: {all_valid} within_budget: {within} "
        f"size_vs_gltfpack: {worst_ratio:.2f} time_1m_tris_s: {dense_s:.1f}")
    return all_valid and within


def _build_measured(settings: Settings, path: Path, work: Path) -> tuple[int, float, float,
                                                                         float]:
    """In a fresh process: build every profile of ``path``; triangles, seconds and peak MB."""
    started = time.perf_counter()
    built = service.build(settings, path, "glb", None, None, work)
    seconds = time.perf_counter() - started
    own, children = _peak_mb()
    return built.triangles, seconds, own, children


def big_upload_memory(settings: Settings, say: Callable[[str], None],
                      target_mb: int = 100) -> None:
    """Process one generated GLB of about ``target_mb`` MB in a fresh process; peak memory.

    The file is made here and processed in a spawned process, so that the figure is the
    worker's, not the generator's.
    """
    import multiprocessing

    import trimesh as untyped

    trimesh: Any = untyped
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mesh = trimesh.creation.icosphere(subdivisions=9)  # 5.2M triangles
        data = trimesh.Scene(mesh).export(file_type="glb")
        while len(data) > target_mb * 1024 * 1024:
            mesh = trimesh.Trimesh(mesh.vertices, mesh.faces[: int(len(mesh.faces) * 0.9)],
                                   process=False)
            data = trimesh.Scene(mesh).export(file_type="glb")
        path = root / "big.glb"
        path.write_bytes(data)
        del data, mesh
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            triangles, seconds, own, children = pool.apply(_build_measured,
                                                           (settings, path, root))
        say(f"big upload: {path.stat().st_size / 1e6:.0f} MB, {triangles:,} triangles, all "
            f"profiles in {seconds:.1f} s; peak RSS: worker {own:.0f} MB, largest child "
            f"(Node validator, gltfpack) at most {children:.0f} MB")
