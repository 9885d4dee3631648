"""The home app in Debian's headless Chromium against a real API server on the test database
(the designer's fixtures, tests/kiosk/conftest.py: the server, Playwright, the browser), with
a customer's home seeded through the product's own services: a purifier with a month of
readings through the gateway's writer, its forecasts and offers as the hourly tasks make them,
the demo's shop floor (orders in flight, points, products seen in a store), coupons, an
installed order to rate and a design."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page

from clienteling import discounts
from customers import store as customers
from device_gateway.provisioning import provision
from devtools.demo.community import seed_floorplans
from devtools.demo.shop_floor import seed_clienteling
from homeloop import clock
from homeloop.settings import PROJECT_ROOT, Settings
from orders import service as orders
from orders.schemas import LineIn
from replenishment import offers
from replenishment import service as forecasting
from tests.conftest import write_through_gateway
from tests.kiosk.conftest import bearer

Conn = psycopg.Connection[tuple[Any, ...]]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
SHANGHAI = "Asia/Shanghai"  # where the customers live: times and slots as they read them
ARTIFACTS = PROJECT_ROOT / ".local" / "test-artifacts" / "home"


@dataclass
class Home:
    customer: int
    token: str
    purifier: int
    spare_tag: str  # a coffee machine's tag nobody has registered yet
    installed_order: int
    design: str


def seed_home(settings: Settings, db: Conn, locale: str = "zh-CN") -> Home:
    now = clock.now()
    first = customers.create_customer(db, "李伟", locale=locale, home_store_id="SH-XUHUI")
    second = customers.create_customer(db, "王芳", locale="zh-CN", home_store_id="SH-PUDONG")
    ann = f"staff:{seed_clienteling(db, [first, second], nearby_km=settings.nearby_store_km)}"
    # the purifier: owned for six months (its pre-filter, six months at most, is due
    # tomorrow: an offer), a month of readings
    [tag] = provision(db, "WP-500", 1)
    customers.claim(db, first, device_id=tag.device_id, via="nfc_tap")
    db.execute("UPDATE product_instances SET claimed_at = %s WHERE id = %s",
               (now - timedelta(days=182), tag.instance_id))
    start = now - timedelta(days=30)
    readings = [(start + timedelta(hours=h),
                 {"flow_l": round(0.1 + 0.5 * (h % 24 in range(7, 22)) + (h % 5) / 20, 3),
                  "temp_c": round(17 + (h % 24) / 8, 2)}) for h in range(30 * 24)]
    write_through_gateway(db, tag.device_id, readings, max_age_days=40)
    forecasting.forecast_instances(db, [tag.instance_id], now)
    offers.evaluate(db, now)
    [spare] = provision(db, "CM-100", 1)
    # coupons an assistant granted, an installation to rate, a design
    for sku, kind, cents in (("LAMP-FLOOR", "discount", 5_000), ("LAMP-TABLE", "gift", 3_000)):
        discounts.propose(db, assistant=ann, store_id="SH-XUHUI", customer_id=first, sku=sku,
                          kind=kind, amount=cents, dry_run=False, now=now)
    installer = db.execute("SELECT min(id) FROM installers").fetchone()
    assert installer is not None
    done = orders.place_order(db, first, "SH-XUHUI", ann, [LineIn(sku="WC-300")],
                              now - timedelta(days=6), nearby_km=settings.nearby_store_km)
    for status in ("picked", "shipped", "out_for_delivery", "delivered"):
        orders.advance(db, done, status, ann, now - timedelta(days=5))
    orders.advance(db, done, "installation_booked", ann, now - timedelta(days=5),
                   installer_id=int(installer[0]), install_at=now - timedelta(days=4))
    orders.advance(db, done, "installed", ann, now - timedelta(days=4))
    design = seed_floorplans(db, first)
    return Home(first, bearer(settings, first), tag.instance_id, spare.tag_uid, done, design)


@pytest.fixture
def home(settings: Settings, db: Conn) -> Home:
    return seed_home(settings, db)


@pytest.fixture
def answers_meant() -> list[int]:
    """Error statuses a test means the API to answer (Chromium logs each as a console error)."""
    return []


@pytest.fixture
def page(browser: Browser, answers_meant: list[int]) -> Iterator[Page]:
    """A fresh browser context (no cache, no service worker); the test fails on anything the
    page throws or logs as an error (but for the answers the test meant), and on any request
    to another host."""
    context = browser.new_context(viewport=PHONE, timezone_id=SHANGHAI)
    opened = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:", "blob:"))
              else elsewhere.append(r.url))
    yield opened
    context.close()
    meant = [f"the server responded with a status of {status} " for status in answers_meant]
    errors = [e for e in errors if not any(m in e for m in meant)]
    assert not errors, f"the page threw or logged errors: {errors}"
    assert not elsewhere, f"the page fetched from another host (a CDN?): {elsewhere}"


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where a test's screenshots go: .local/test-artifacts/home/<test>/ (kept)."""
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
