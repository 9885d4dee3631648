"""The room designer in Debian's headless Chromium (Playwright, no browser download), against a
real API server on the test database, with the demo's furnished design."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from psycopg.types.json import Jsonb

from ar_assets.lod import read_glb
from ar_assets.storage import LocalBlobStore
from customers.store import create_customer
from devtools.auth_emulator import AuthEmulator
from devtools.demo.community import seed_floorplans
from homeloop.settings import PROJECT_ROOT, Settings
from tests.api.conftest import auth
from tests.api.conftest import auth_emulator as auth_emulator
from tests.conftest import api_server

CHROMIUM = "/usr/bin/chromium"
# Software WebGL (SwiftShader through ANGLE): three.js renders without a GPU.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--use-gl=angle",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


# A shared CI machine draws WebGL in software: give the page's answers time.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def server(settings: Settings, auth_emulator: AuthEmulator) -> Iterator[str]:
    if not (settings.web_dir / "index.html").exists():
        pytest.fail("the web client is not built: run `make install` (npm run build in web/kiosk)")
    with api_server(settings, auth_emulator.address, "kiosk-api.log",
                    rate_limit="1000000/minute") as base:
        yield base


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `homeloop services up` installs it")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:", "blob:"))
              else elsewhere.append(r.url))
    yield opened
    context.close()
    assert not errors, f"the page threw: {errors}"
    assert not elsewhere, f"the page fetched from another host (a CDN?): {elsewhere}"


ARTIFACTS = PROJECT_ROOT / ".local" / "test-artifacts" / "kiosk"


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where a test's screenshots go: .local/test-artifacts/kiosk/<test>/ (kept; CI may
    collect them), emptied when the test starts."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def demo_design(settings: Settings, db: psycopg.Connection[Any]) -> tuple[int, str]:
    """A customer and the demo's furnished design on a copy of Jade Garden's 3B layout."""
    customer = create_customer(db, "Lin")
    design = seed_floorplans(db, customer)
    return customer, design


def bearer(settings: Settings, who: str | int, **claims: object) -> str:
    return auth(settings, who, **claims)["Authorization"].removeprefix("Bearer ")


def give_model(settings: Settings, db: psycopg.Connection[Any], sku: str, glb: bytes,
               tmp: Path) -> None:
    """Make ``glb`` the SKU's ready model at every profile, as the AR assets pipeline leaves it
    (the pipeline itself is tested in tests/ar_assets)."""
    path = tmp / f"{sku}.glb"
    path.write_bytes(glb)
    sha = LocalBlobStore.from_settings(settings).put(path)
    doc, _ = read_glb(glb)  # its colour variants, as the pipeline lists them
    named = [v["name"] for v in
             doc.get("extensions", {}).get("KHR_materials_variants", {}).get("variants", [])]
    asset = db.execute(
        "INSERT INTO assets (sku, status, source_name, source_format, source_sha256, "
        "source_size, uploaded_by, default_at, variants) VALUES (%s, 'ready', %s, 'glb', %s, "
        "%s, 'test', now(), %s) RETURNING id",
        (sku, path.name, sha, len(glb), Jsonb(named))).fetchone()
    assert asset is not None
    for profile in ("master", "phone", "planner", "vr"):
        db.execute("INSERT INTO asset_files (asset_id, profile, sha256, size, triangles, "
                   "draw_calls, max_texture, compression, validator) VALUES "
                   "(%s, %s, %s, %s, 12, 1, 0, 'none', '{}')", (asset[0], profile, sha, len(glb)))
