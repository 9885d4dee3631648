"""``homeloop bench scenes``: floor plans, imported and seen: how the RoomPlan import grows with
the walls, and a furnished three-bedroom design's scenes, cold and cached.

Import scaling (pure, no database): merged RoomPlan exports (``CapturedStructure``, as
:mod:`devtools.captures` writes them) of homes that are grids of rooms sharing their walls,
every wall cut into 5 pieces as scans cut them, from about 1,000 to 50,000 wall pieces; each
is read from its JSON bytes and imported (:func:`floorplans.service.read_json` and
:func:`floorplans.roomplan.parse_plan`) with the wide bounds (``SANE``) in place of the
install's caps, so sizes past the caps are measured too. Printed: the import's CPU time per size
(the process's own, so that other work on a shared machine does not count; the wall-clock time
beside it), CPU time per wall piece, and the exponent of the growth between the smallest and the
largest (1.0 is linear).

Scenes:

A bench database (created, migrated, seeded, dropped afterwards) and a throw-away asset folder
get the sample models (Poly Haven, CC0) processed by the AR assets pipeline as the models of
the design's SKUs, so the scene service runs as in production: plan and design from
PostgreSQL, LODs from the blob store. For each profile: the cold build (cache emptied before
each run, median of 5), the cached answer (the key from the database and the stored file read,
median of 50), size, triangles drawn and the Khronos validator's errors. The naive scene, in
the same run: every placement a full copy of its unreduced master model (no LOD, no sharing).
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from ar_assets import service as assets
from ar_assets import store as asset_store
from ar_assets.profiles import PROFILES
from ar_assets.storage import LocalBlobStore
from ar_assets.validator import validate_glb
from devtools import layouts
from devtools.bench.db import bench_settings, drop, recreate
from devtools.captures import grid_home, segmented
from floorplans import scene, scenes, service
from floorplans import store as plans
from floorplans.glb import count_triangles
from floorplans.roomplan import parse_plan
from floorplans.schemas import SANE
from homeloop.errors import ServiceError
from homeloop.settings import PROJECT_ROOT, Settings

BENCH_DB = "homeloop_bench_scenes"
SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "models"
# Stand-in models for the design's SKUs (the samples are furniture of about the right kind).
MODELS = {"SOFA-3-GREY": "sofa_03", "SOFA-2-BEIGE": "sofa_03",
          "WARDROBE-100-FLAT": "painted_wooden_cabinet", "DW-60": "painted_wooden_cabinet",
          "WM-8": "painted_wooden_cabinet", "LAMP-FLOOR": "painted_wooden_stool",
          "LAMP-TABLE": "painted_wooden_stool", "BED-180": "wooden_table_02",
          "BED-150": "wooden_table_02"}
TARGET_COLD_MS, TARGET_CACHED_MS, TARGET_SIZE = 300.0, 5.0, 0.30
IMPORT_WALLS = (1_000, 5_000, 20_000, 50_000)  # wall pieces; 5,000 is the default cap
SEGMENTS = 5
TARGET_EXPONENT = 1.25  # near-linear: 50 x the walls in at most 50 ** 1.25 = 133 x the time


def _zip(folder: Path, out: Path) -> None:
    import zipfile
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.writestr(f"{folder.name}/{path.relative_to(folder).as_posix()}",
                            path.read_bytes())


def _load_models(bench: Settings, work: Path, say: Callable[[str], None]) -> None:
    blobs = LocalBlobStore.from_settings(bench)
    zips: dict[str, Path] = {}
    for sku, sample in MODELS.items():
        if sample not in zips:
            zips[sample] = work / f"{sample}.zip"
            _zip(SAMPLES / sample, zips[sample])
        path = zips[sample]
        sha = blobs.put(path)
        with psycopg.connect(bench.database_url) as conn:
            asset_id = assets.accept_upload(
                conn, bench, sha256=sha, size=path.stat().st_size, head=path.read_bytes()[:64],
                filename=path.name, sku=sku, unit=None, up=None, uploaded_by="bench")
            conn.commit()
            status = assets.process(conn, bench, asset_id)
            conn.commit()
        say(f"  {sku:<18} <- {sample} ({status})")


def _ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _grid_for(walls: int) -> int:
    """The side of a square grid of rooms whose structure has about ``walls`` pieces."""
    # n x n rooms: n (n + 1) walls each way, each cut into SEGMENTS pieces
    return max(1, round((-1 + math.sqrt(1 + 2 * walls / SEGMENTS)) / 2))


def import_scaling(say: Callable[[str], None],
                   sizes: Sequence[int] = IMPORT_WALLS) -> tuple[float, float]:
    """Time the import at each size; (exponent of the growth, µs per wall at the largest)."""
    say("RoomPlan import (CapturedStructure, JSON bytes to our plan):")
    say(f"{'pieces':>8} {'rooms':>6} {'walls':>6} {'openings':>8} {'MB':>6} {'cpu ms':>9} "
        f"{'wall ms':>9} {'us/piece':>9}")
    points: list[tuple[int, float]] = []
    for wanted in sizes:
        n = _grid_for(wanted)
        raw = json.dumps(segmented(grid_home(n, n).structure(), SEGMENTS)).encode()
        runs = 3 if wanted <= 5_000 else 1
        times, clock = [], []
        for _ in range(runs):
            start, cpu = time.perf_counter(), time.process_time()
            doc = service.read_json(raw)
            plan = parse_plan(doc, limits=SANE)
            clock.append(time.perf_counter() - start)
            times.append(time.process_time() - cpu)
        seconds = statistics.median(times)
        pieces = len(doc["walls"])
        points.append((pieces, seconds))
        say(f"{pieces:>8,} {len(plan.rooms):>6,} {len(plan.walls):>6,} "
            f"{len(plan.openings):>8,} {len(raw) / 1e6:>6.1f} {seconds * 1000:>9,.0f} "
            f"{statistics.median(clock) * 1000:>9,.0f} {seconds / pieces * 1e6:>9.0f}")
    (w0, t0), (w1, t1) = points[0], points[-1]
    exponent = math.log(t1 / t0) / math.log(w1 / w0) if w1 > w0 else 1.0
    say(f"growth: {w1 / w0:.0f} x the walls in {t1 / t0:.0f} x the time: exponent "
        f"{exponent:.2f} (1.00 is linear; target <= {TARGET_EXPONENT})")
    return exponent, t1 / w1 * 1e6


def run_scenes_bench(settings: Settings, say: Callable[[str], None], placements: int = 40,
                     keep: bool = False, import_only: bool = False,
                     import_walls: Sequence[int] = IMPORT_WALLS) -> bool:
    """Print the figures; the last line is the summary. True when every target is met."""
    exponent, per_wall = import_scaling(say, import_walls)
    imported = (f"import_exponent {exponent:.2f} import_us_per_wall {per_wall:.0f} "
                f"import_walls {max(import_walls)}")
    if import_only:
        say(f"scenes: {imported}")
        return exponent <= TARGET_EXPONENT
    if not SAMPLES.is_dir():
        raise ServiceError(f"the sample models are missing: {SAMPLES}")
    with tempfile.TemporaryDirectory() as tmp:
        bench = bench_settings(settings, BENCH_DB).model_copy(update={
            "state_dir": Path(tmp) / "state", "asset_blob_dir": None})
        start = time.perf_counter()
        recreate(settings, bench)
        say(f"bench database {BENCH_DB} ready; processing the sample models:")
        _load_models(bench, Path(tmp), say)
        say(f"  models ready in {time.perf_counter() - start:.1f} s")
        try:
            met = _measure(bench, say, placements, imported)
            return met and exponent <= TARGET_EXPONENT
        finally:
            if not keep:
                drop(settings, BENCH_DB)


def _measure(bench: Settings, say: Callable[[str], None], count: int, imported: str) -> bool:
    plan = layouts.three_bedroom()
    furnished = layouts.furnished(count)
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        customer = conn.execute("INSERT INTO customers (display_name) VALUES ('Bench') "
                                "RETURNING id").fetchone()
        assert customer is not None
        row = plans.insert_plan(conn, plan, owner_id=int(customer[0]), store_id=None,
                                source="json")
        design = plans.insert_design(conn, row.id, int(customer[0]), None, "Bench home",
                                     furnished, "bench")
        skus = {p.sku for p in furnished}
        say(f"design: {len(plan.rooms)} rooms, {len(plan.walls)} walls, {len(furnished)} "
            f"placements of {len(skus)} SKUs ({len(set(MODELS) & skus)} with a model)")
        say(f"{'profile':<8} {'cold ms':>8} {'cached ms':>9} {'bytes':>10} {'tris':>8} "
            f"{'errors':>6}")
        figures: dict[str, tuple[float, float, int, int, int]] = {}
        for profile in ("phone", "planner", "vr"):
            def cold(p: str = profile) -> bytes:
                shutil.rmtree(bench.state_dir / "scenes", ignore_errors=True)
                return scenes.scene_file(conn, bench, scenes.gather(conn, design, p)).read_bytes()

            def cached(p: str = profile) -> bytes:
                # what a 200 from the cache costs: the key from the database, the file read
                return scenes.scene_file(conn, bench, scenes.gather(conn, design, p)).read_bytes()
            cold_ms = _ms(cold, 5)
            data = cold()
            cached_ms = _ms(cached, 50)
            errors = validate_glb(data, node=bench.asset_node).errors
            figures[profile] = (cold_ms, cached_ms, len(data), count_triangles(data), errors)
            say(f"{profile:<8} {cold_ms:>8.1f} {cached_ms:>9.2f} {len(data):>10,} "
                f"{figures[profile][3]:>8,} {errors:>6}")
        blobs = LocalBlobStore.from_settings(bench)
        masters: dict[str, bytes | None] = {}
        planner_items: dict[str, int] = {}
        planner_bytes: dict[str, int] = {}
        for sku in skus:
            asset_id = asset_store.default_for_sku(conn, sku)
            found = asset_store.file_for(conn, asset_id, "master") if asset_id else None
            if found is None:
                masters[sku] = None
                continue
            with blobs.open(found.sha256) as f:
                masters[sku] = f.read()
            lod = assets.lod_for_sku(conn, bench, sku, "planner")
            planner_items[sku] = count_triangles(lod) if lod else 0
            planner_bytes[sku] = len(lod) if lod else 0
        products = plans.products(conn, skus)
        start = time.perf_counter()
        naive = scene.build(plan, furnished, products, masters, shared=False)
        naive_ms = (time.perf_counter() - start) * 1000
    budget = PROFILES["planner"].max_triangles
    max_bytes = PROFILES["planner"].max_bytes or 0
    over = {s for s, t in planner_items.items() if t > budget or planner_bytes[s] > max_bytes}
    say(f"naive    {naive_ms:>8.1f} {'':>9} {len(naive.glb):>10,} {naive.triangles:>8,}  "
        "(every placement a full copy of its master model)")
    say(f"planner items within {budget:,} triangles and {max_bytes:,} bytes each: "
        f"{len(planner_items) - len(over)} of {len(planner_items)} (largest "
        f"{max(planner_items.values(), default=0):,} triangles, "
        f"{max(planner_bytes.values(), default=0):,} bytes)")
    cold_ms, cached_ms, size, tris, _ = figures["phone"]
    ratio = size / len(naive.glb)
    valid = all(f[4] == 0 for f in figures.values())
    met = (cold_ms < TARGET_COLD_MS and cached_ms < TARGET_CACHED_MS and ratio < TARGET_SIZE
           and not over and valid)
    say(f"targets: cold < {TARGET_COLD_MS:.0f} ms, cached < {TARGET_CACHED_MS:.0f} ms, "
        f"size < {TARGET_SIZE:.0%} of naive, planner items in budget: "
        f"{'met' if met else 'NOT met'}")
    say(f"scenes: cold_ms {cold_ms:.1f} cached_ms {cached_ms:.2f} size_vs_naive {ratio:.3f} "
        f"phone_tris {tris} valid {str(valid).lower()} {imported}")
    return met


__all__ = ["run_scenes_bench"]
