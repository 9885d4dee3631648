"""What a customer does in the home app, and what the API then holds: accepting and snoozing
offers, following and rating an order, registering a product by its tag, choosing a chart's
period, privacy choices, signing in and out, installing it and using it offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from homeloop.settings import Settings
from tests.conftest import wait_for
from tests.kiosk.home.conftest import PHONE, SHANGHAI, Home
from tests.kiosk.home.test_screens import open_home

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

Conn = psycopg.Connection[tuple[Any, ...]]


def test_accepting_an_offer_for_pickup_places_an_order_followed_step_by_step(
        page: Page, server: str, home: Home, db: Conn, artifacts: Path) -> None:
    open_home(page, server, home.token, "en", screen="offers")
    offer = page.locator("[data-offer]").first
    offer.locator("select[id^='how-']").select_option("pickup")
    offer.locator("select[id^='store-']").select_option(label="Shanghai Xuhui")  # by name
    offer.get_by_role("button", name="Order it").click()
    # it lands on the orders, the new one first, at its first step
    expect(page.locator("body")).to_have_attribute("data-screen", "orders")
    expect(page.locator("#status")).to_contain_text("Ordered: order 5.")
    order = page.locator("[data-order='5']")
    expect(order).to_contain_text("PP cotton pre-filter")
    expect(order.locator(".steps li[aria-current='step']")).to_contain_text("Placed")
    expect(order.locator(".steps li > span:first-child")).to_have_text(
        ["Placed", "Ready for pickup", "Collected", "Complete"])
    page.screenshot(path=str(artifacts / "ordered.png"), full_page=True)
    assert wait_for(lambda: db.execute(
        "SELECT o.status, r.fulfilment, r.store_id FROM offers o "
        "JOIN order_requests r ON r.offer_id = o.id").fetchone()) == (
        "accepted", "pickup", "SH-XUHUI")
    # the offer stays listed, accepted, without its buttons
    page.get_by_role("navigation").get_by_role("link", name="Offers", exact=True).click()
    expect(page.locator("[data-offer]").first).to_contain_text("ordered")
    expect(page.get_by_role("button", name="Order it")).to_have_count(0)


def test_i_still_have_some_snoozes_the_offer_and_it_can_still_be_ordered(
        page: Page, server: str, home: Home, db: Conn) -> None:
    open_home(page, server, home.token, "zh-CN", screen="offers")
    page.get_by_role("button", name="我还有").click()
    expect(page.locator("#status")).to_have_text("好的，之后再提醒您。")
    expect(page.locator("[data-offer]").first).to_contain_text("稍后提醒")
    assert wait_for(lambda: db.execute("SELECT status FROM offers").fetchall() == [("snoozed",)])
    expect(page.get_by_role("button", name="我还有")).to_have_count(0)
    expect(page.get_by_role("button", name="确认下单")).to_have_count(1)
    page.get_by_role("button", name="不需要").click()
    expect(page.locator("[data-offer]").first).to_contain_text("已拒绝")
    assert wait_for(lambda: db.execute("SELECT status FROM offers").fetchall() == [("dismissed",)])


def test_the_orders_show_the_slot_the_installer_and_take_a_rating(
        page: Page, server: str, home: Home, db: Conn, artifacts: Path) -> None:
    open_home(page, server, home.token, "en", screen="orders")
    sofa = page.locator("[data-order='3']")  # the demo's corner sofa, from Pudong, a slot booked
    expect(sofa).to_contain_text("Delivery slot:")
    expect(sofa.locator(".steps li.done")).to_have_count(2)
    installed = page.locator(f"[data-order='{home.installed_order}']")
    expect(installed).to_contain_text("Installer: Zhang Wei")
    expect(installed.locator(".steps li[aria-current='step']")).to_contain_text("Installed")
    installed.get_by_label("Stars (1–5)").select_option("2")
    installed.get_by_label("Leak").check()
    installed.get_by_label("Comment (optional)").fill("Water under the toilet.")
    installed.get_by_role("button", name="Send the rating").click()
    expect(installed).to_contain_text("Thank you for your rating.")
    page.screenshot(path=str(artifacts / "rated.png"), full_page=True)
    rating = wait_for(lambda: db.execute(
        "SELECT stars, problems, comment FROM installation_ratings WHERE order_id = %s",
        (home.installed_order,)).fetchone())
    assert rating == (2, ["leak"], "Water under the toilet.")


def test_a_products_qr_registers_it_in_one_tap(
        page: Page, server: str, home: Home, db: Conn, artifacts: Path) -> None:
    # the QR on a product holds the app's address with its tag; the app opens on Register
    page.goto(f"{server}/kiosk/home.html?tag={home.spare_tag}#token={home.token}")
    expect(page.locator("body")).to_have_attribute("data-screen", "register")
    expect(page.get_by_label("标签编号")).to_have_value(home.spare_tag)
    page.screenshot(path=str(artifacts / "register.png"), full_page=True)
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator("#status")).to_have_text("已登记：KAFFE 胶囊咖啡机。")
    expect(page.locator("body")).to_have_attribute("data-screen", "home")
    expect(page.locator("[data-product]")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("KAFFE 胶囊咖啡机")
    assert wait_for(lambda: db.execute("SELECT owner_id FROM product_instances WHERE tag_uid = %s",
                                       (home.spare_tag,)).fetchone() == (home.customer,))


def test_a_typed_tag_nobody_made_is_refused_in_words(
        page: Page, server: str, home: Home, answers_meant: list[int]) -> None:
    answers_meant.append(404)
    open_home(page, server, home.token, "en", screen="register")
    page.get_by_label("Tag number").fill("04AABBCCDDEEFF")
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Something went wrong:")
    expect(page.locator("[data-product]")).to_have_count(0)


def test_the_usage_chart_shows_a_day_a_week_or_a_month(
        page: Page, server: str, home: Home) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/timeline?" in r.url else None)
    open_home(page, server, home.token, "en")
    expect(page.locator("body")).to_have_attribute("data-chart", "drawn")
    chart = page.get_by_role("img", name="Water through the filter of AQUA 500G RO water "
                                        "purifier, Week")
    expect(chart).to_be_visible()
    for period, bucket in (("Month", "day"), ("Day", "hour")):
        page.get_by_role("button", name=period, exact=True).click()
        expect(page.get_by_role("button", name=period, exact=True)).to_have_attribute(
            "aria-pressed", "true")
        expect(page.get_by_role("img", name=f"Water through the filter of AQUA 500G RO water "
                                             f"purifier, {period}")).to_be_visible()
        assert f"bucket={bucket}" in asked[-1]
    # uPlot drew a line: the canvas is not blank
    inked = page.evaluate("""() => {
      const c = document.querySelector('#chart canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] && d[i + 2] > 150 && d[i] < 60) n++;
      return n; }""")
    assert inked > 100


def test_privacy_choices_reach_the_api_and_deleting_signs_out(
        page: Page, server: str, home: Home, db: Conn, settings: Settings) -> None:
    open_home(page, server, home.token, "en", screen="privacy")
    page.get_by_label("SH-XUHUI").uncheck()
    expect(page.locator("#status")).to_have_text("Saved.")
    assert wait_for(lambda: db.execute("SELECT granted FROM store_consents WHERE customer_id = %s",
                                       (home.customer,)).fetchall() == [(False,)])
    page.get_by_label("Promotions by push").check()
    expect(page.locator("#status")).to_have_text("Saved.")
    assert wait_for(lambda: httpx.get(f"{server}/v1/me/privacy", headers={
        "Authorization": f"Bearer {home.token}"}).json()["push_marketing"] is True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export my data").click()
    assert download.value.suggested_filename == "homeloop-export.zip"
    page.get_by_role("button", name="Delete my data").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Your data was deleted.")
    assert wait_for(lambda: db.execute(
        "SELECT count(*) FROM customer_identities WHERE customer_id = %s",
        (home.customer,)).fetchone() == (0,))


def test_without_a_sign_in_it_asks_for_one_and_signing_out_forgets_it(
        page: Page, server: str, home: Home, answers_meant: list[int]) -> None:
    answers_meant.append(401)
    page.goto(f"{server}/kiosk/home.html")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    open_home(page, server, home.token, "en")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # a token the API no longer takes: back to signing in, with why
    page.goto(f"{server}/kiosk/home.html?lang=en#token=not-a-token")
    expect(page.locator("#status")).to_have_text("Your session has ended: sign in again.")


def test_it_is_installable_and_works_offline_for_what_it_loaded(
        browser: Browser, server: str, home: Home, artifacts: Path) -> None:
    manifest = httpx.get(f"{server}/kiosk/home.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert json.loads(manifest.text)["display"] == "standalone"
    context = browser.new_context(viewport=PHONE, timezone_id=SHANGHAI, service_workers="allow")
    page = context.new_page()
    try:
        open_home(page, server, home.token, "zh-CN")
        page.evaluate("navigator.serviceWorker.ready.then(() => null)")
        page.reload()  # now under the worker: it keeps what this visit loads
        expect(page.locator("body")).to_have_attribute("data-chart", "drawn")
        assert page.evaluate("!!navigator.serviceWorker.controller")
        page.get_by_role("navigation").get_by_role("link", name="订单", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-screen", "orders")
        context.set_offline(True)
        page.goto(f"{server}/kiosk/home.html?lang=zh-CN#home")
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        expect(page.locator("main")).to_contain_text("AQUA 500G 反渗透净水器")
        expect(page.locator("#status")).to_have_text("离线：显示的是上次载入的内容。")
        page.get_by_role("navigation").get_by_role("link", name="订单", exact=True).click()
        expect(page.locator("main")).to_contain_text("订单 4")
        page.screenshot(path=str(artifacts / "offline.png"), full_page=True)
    finally:
        context.close()
