"""A profile over its byte budget: textures written again at their size before they are halved."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import trimesh
from fastapi.testclient import TestClient
from PIL import Image

from ar_assets.lod import make_lod, read_glb, texture_sizes
from ar_assets.profiles import PROFILES, Profile
from ar_assets.service import tools_from
from ar_assets.validator import validate_glb
from homeloop.settings import Settings
from tests.ar_assets.conftest import SAMPLES, mesh_glb, sample_zip
from tests.ar_assets.test_processing import processed, profile_bytes

Conn = psycopg.Connection[tuple[Any, ...]]


def images(data: bytes) -> list[tuple[str, Image.Image]]:
    """A GLB's images, decoded, with their MIME types."""
    doc, blob = read_glb(data)
    found = []
    for image in doc.get("images", []):
        view = doc["bufferViews"][image["bufferView"]]
        start = view.get("byteOffset", 0)
        img = Image.open(io.BytesIO(blob[start:start + view["byteLength"]]))
        img.load()
        found.append((image["mimeType"], img))
    return found


def test_a_real_model_over_the_planner_budget_keeps_its_full_texture_size(
        client: TestClient, settings: Settings, db: Conn) -> None:
    # Poly Haven's cabinet: three 1K JPEGs written at quality 100, 1.8 MB together, over the
    # planner's 1 MB. At JPEG quality 85 they fit at 1024 px: nothing needs halving.
    sent = sum(p.stat().st_size for p in (SAMPLES / "painted_wooden_cabinet").rglob("*.jpg"))
    assert sent > PROFILES["planner"].max_bytes  # type: ignore[operator]

    asset = processed(client, settings, sample_zip("painted_wooden_cabinet"), "cabinet.zip")

    assert asset["status"] == "ready", asset["report"]
    planner = asset["profiles"]["planner"]
    assert planner["max_texture"] == 1024
    assert planner["size"] <= PROFILES["planner"].max_bytes  # type: ignore[operator]
    assert asset["report"]["within_budget"]["planner"] is True
    assert asset["report"]["texture_quality"] == {"planner": 85}
    data = profile_bytes(client, asset, "planner")
    assert validate_glb(data).errors == 0
    doc, blob = read_glb(data)
    assert texture_sizes(doc, blob) == [(1024, 1024)] * 3
    assert [mime for mime, _ in images(data)] == ["image/jpeg"] * 3
    # The phone file fitted as sent: its textures are the supplier's own bytes.
    assert asset["profiles"]["phone"]["size"] > sent
    assert asset["profiles"]["phone"]["max_texture"] == 1024


def noise_box(tmp: Path, px: int, alpha: bool = False) -> Path:
    """A box with one ``px`` texture of noise (PNG, as trimesh writes it): hard to compress."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (px, px, 4 if alpha else 3), dtype=np.uint8)
    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    uv = rng.random((len(box.vertices), 2))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(pixels))
    path = tmp / "master.glb"
    path.write_bytes(mesh_glb(box))
    return path


def test_textures_that_fit_at_no_quality_are_halved_then_written_at_the_best_that_fits(
        tmp_path: Path, settings: Settings) -> None:
    # 1024 px of noise: 432 kB even at JPEG quality 55, over a 300 kB budget; halved to
    # 512 px, quality 85 fits (187 kB). Halving alone kept PNG and went down to 256 px.
    master = noise_box(tmp_path, 1024)
    profile = Profile("planner", 300_000, 40_000, 1024, True)
    lod = make_lod(master, 12, profile, tmp_path, tools_from(settings))

    assert lod.validation.errors == 0 and lod.size <= 300_000
    assert lod.max_texture == 512 and lod.jpeg_quality == 85
    [(mime, img)] = images(lod.path.read_bytes())
    assert mime == "image/jpeg" and img.size == (512, 512)


def test_a_texture_with_transparency_stays_png(tmp_path: Path, settings: Settings) -> None:
    master = noise_box(tmp_path, 512, alpha=True)  # 1 MB of PNG that no JPEG may replace
    profile = Profile("planner", 400_000, 40_000, 1024, True)
    lod = make_lod(master, 12, profile, tmp_path, tools_from(settings))

    assert lod.validation.errors == 0 and lod.size <= 400_000
    [(mime, img)] = images(lod.path.read_bytes())
    assert mime == "image/png" and img.mode == "RGBA" and img.size == (256, 256)
    assert img.getchannel("A").getextrema()[0] < 255


def test_a_file_within_its_budget_is_not_written_again(tmp_path: Path,
                                                        settings: Settings) -> None:
    master = noise_box(tmp_path, 256)
    lod = make_lod(master, 12, PROFILES["planner"], tmp_path, tools_from(settings))

    assert lod.jpeg_quality is None and lod.attempts == 1
    [(mime, img)] = images(lod.path.read_bytes())
    assert mime == "image/png" and img.size == (256, 256)
