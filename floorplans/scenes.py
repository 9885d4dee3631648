"""Design scenes: gather what goes in, key it, build once, validate, serve from the cache.

The key is the SHA-256 of everything that shapes the file: the scene format's version, the
profile, the plan, the placements, the products' dimensions and the content hash of each
product's model file at that profile. The same key is the strong ETag. A scene is built once per
key, passed through the Khronos glTF-Validator, and kept as a file named by it
(``<state_dir>/scenes``), served from there; a changed design, plan, product or model makes a
new key. A scene the validator refuses is never written nor served: it is an error for the
operator (logged with the validator's first messages, counted in
``homeloop_scenes_invalid_total``), and the customer gets a 500.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from prometheus_client import Counter

from ar_assets.service import lod_for_sku
from ar_assets.validator import validate_glb
from floorplans import scene, store
from floorplans.geometry import Product
from homeloop.db import Conn
from homeloop.errors import OutputInvalid
from homeloop.settings import Settings

log = logging.getLogger(__name__)
INVALID = Counter("homeloop_scenes_invalid_total",
                  "Room scenes the glTF validator refused (never served)")

SCENE_FORMAT = "1"
KEEP_DAYS = 30  # a scene file unused this long is removed (floorplans.prune_scenes, daily)
TOUCH_AFTER_S = 86_400.0
# Which of the AR assets' LODs a scene profile places. A room holds dozens of products, so the
# phone's room scene takes the ``planner`` LODs (made for one item among many, on a kiosk or a
# phone); the ``phone`` LOD (up to 3 MB each) is for one product on its own in AR.
LOD_FOR = {"phone": "planner", "planner": "planner", "vr": "vr"}
ModelSource = Callable[[str, str], bytes | None]  # (sku, profile) -> GLB


@dataclass(frozen=True, slots=True)
class Inputs:
    key: str
    design: store.DesignRow
    profile: str
    products: dict[str, Product]
    models: dict[str, str | None]


def gather(conn: Conn, design: store.DesignRow, profile: str) -> Inputs:
    skus = {p.sku for p in design.placements}
    products = store.products(conn, skus)
    models = store.model_files(conn, skus, LOD_FOR[profile])
    h = hashlib.sha256()
    for part in (SCENE_FORMAT, profile, store.plan_text(conn, design.floor_plan_id),
                 store.dumps([p.model_dump(mode="json") for p in design.placements]),
                 store.dumps({s: asdict(p) for s, p in sorted(products.items())}),
                 store.dumps(models)):
        h.update(part.encode())
        h.update(b"\0")
    return Inputs(h.hexdigest(), design, profile, products, models)


def etag(inputs: Inputs) -> str:
    return f'"{inputs.key[:40]}"'


def cache_path(settings: Settings, key: str) -> Path:
    return settings.state_dir / "scenes" / key[:2] / f"{key}.glb"


def scene_file(conn: Conn, settings: Settings, inputs: Inputs,
               source: ModelSource | None = None) -> Path:
    """The scene's GLB file: from the cache, else built (with the AR assets' LODs) and stored.

    Files are named by their key, so a file once written never changes; two processes that
    build the same scene at once both write it whole and the last rename wins.
    """
    path = cache_path(settings, inputs.key)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        pass
    else:
        if age > TOUCH_AFTER_S:  # still in use: keep it from being pruned
            os.utime(path)
        return path

    def from_assets(sku: str, profile: str) -> bytes | None:
        return lod_for_sku(conn, settings, sku, profile)

    fetch = source or from_assets
    models = {sku: fetch(sku, LOD_FOR[inputs.profile]) if sha else None
              for sku, sha in inputs.models.items()}
    plan = store.get_plan(conn, inputs.design.floor_plan_id).plan
    built = scene.build(plan, inputs.design.placements, inputs.products, models)
    report = validate_glb(built.glb, node=settings.asset_node,
                          timeout_s=settings.asset_tool_timeout_s)
    if not report.valid:
        INVALID.inc()
        said = "; ".join(f"{m.get('code')} at {m.get('pointer')}: {m.get('message')}"
                         for m in report.messages[:5])
        log.error("the %s scene of design %s (plan %s, key %s) failed the glTF validator "
                  "with %d errors: %s", inputs.profile, inputs.design.id,
                  inputs.design.floor_plan_id, inputs.key[:12], report.errors, said)
        raise OutputInvalid(f"the {inputs.profile} scene of design {inputs.design.id} is not "
                            f"valid glTF ({report.errors} errors: {said})")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
        tmp.write(built.glb)
    os.replace(tmp.name, path)
    return path


def prune(settings: Settings, keep_days: float = KEEP_DAYS, now: float | None = None) -> int:
    """Remove scene files not used for ``keep_days`` (and leftovers of interrupted writes)."""
    root = settings.state_dir / "scenes"
    cutoff = (now if now is not None else time.time()) - keep_days * 86_400
    removed = 0
    for path in root.glob("*/*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker removed it first
            continue
    return removed
