"""The room designer in Debian's headless Chromium (Playwright, no browser download), against a
real API server on the test database, with the demo's furnished design."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from customers.store import create_customer
from floorplans.demo import seed_floorplans
from homeloop.settings import Settings
from identity.emulator import AuthEmulator
from tests.api.conftest import auth
from tests.api.conftest import auth_emulator as auth_emulator
from tests.conftest import process_env, wait_for

CHROMIUM = "/usr/bin/chromium"
# Software WebGL (SwiftShader through ANGLE): three.js renders without a GPU.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--use-gl=angle",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(settings: Settings, auth_emulator: AuthEmulator) -> Iterator[str]:
    if not (settings.web_dir / "index.html").exists():
        pytest.fail("the web client is not built: run `make install` (npm run build in web/kiosk)")
    port = free_port()
    env = process_env(settings, rate_limit="1000000/minute", api_port=str(port))
    env["FIREBASE_AUTH_EMULATOR_HOST"] = auth_emulator.address
    log = settings.state_dir / "kiosk-api.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "homeloop", "api"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, timeout=30, what="the API server")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test's screenshots go (pytest's tmp folder for the test, kept after the run)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def demo_design(settings: Settings, db: psycopg.Connection[Any]) -> tuple[int, str]:
    """A customer and the demo's furnished design on a copy of Jade Garden's 3B layout."""
    customer = create_customer(db, "Lin")
    design = seed_floorplans(db, customer)
    return customer, design


def bearer(settings: Settings, who: str | int, **claims: object) -> str:
    return auth(settings, who, **claims)["Authorization"].removeprefix("Bearer ")
