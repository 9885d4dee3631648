"""The designer's panels and pages: colour variants, the catalog filtered to what fits, a kiosk
signing in (the phone's product page is in test_product.py)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from PIL import Image, ImageStat
from playwright.sync_api import Page, Route, expect

from catalog.seed import CONSUMABLES, INSTALL, SKUS
from homeloop.settings import PROJECT_ROOT, Settings
from identity.kiosks import create_kiosk
from tests.api.conftest import auth
from tests.floorplans.test_scenes import variant_model
from tests.kiosk.conftest import bearer, demo_design, give_model
from tests.kiosk.test_designer import api_design, by_id, open_design

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")


def mean_colour(shot: Path, at: dict[str, float], box: dict[str, float]) -> tuple[float, ...]:
    x, y = at["x"] - box["x"], at["y"] - box["y"]
    region = Image.open(shot).convert("RGB").crop((int(x) - 4, int(y) - 4, int(x) + 4, int(y) + 4))
    return tuple(ImageStat.Stat(region).mean)


def test_switching_a_sofa_colour_shows_it_and_saves_the_variant(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        tmp_path: Path, artifacts: Path) -> None:
    give_model(settings, db, "SOFA-3-GREY", variant_model(2.1), tmp_path)
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    page.get_by_role("button", name="SÖDER 3-seat sofa, grey · SOFA-3-GREY").click()
    colour = page.get_by_label("Colour")
    # the model's own colour is named (grey), not "Standard"
    expect(colour.locator("option")).to_have_text(["grey", "beige"])
    expect(colour).to_have_value("grey")
    canvas = page.locator("#view")
    box = canvas.bounding_box()
    assert box is not None
    at = page.evaluate("id => homeloopKiosk.screenOf(id)", "sofa")
    canvas.screenshot(path=str(artifacts / "grey.png"))
    colour.select_option("beige")
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    canvas.screenshot(path=str(artifacts / "beige.png"))
    grey, beige = (mean_colour(artifacts / f, at, box) for f in ("grey.png", "beige.png"))
    assert beige[2] < beige[0] - 20 and abs(grey[2] - grey[0]) < 20, (grey, beige)  # warm now
    assert by_id(api_design(server, settings, customer, design))["sofa"]["variant"] == "beige"
    expect(page.locator("#bom tbody")).to_contain_text("(beige)")
    # opened again, in Chinese: the room scene itself shows the sofa beige, the list says 米色,
    # the bill of materials names the colour
    open_design(page, server, design, bearer(settings, customer), lang="zh-CN")
    page.get_by_role("button", name="SÖDER 三人沙发 灰色 · SOFA-3-GREY").click()
    expect(page.get_by_label("颜色")).to_have_value("beige")
    expect(page.get_by_label("颜色").locator("option")).to_have_text(["灰色", "米色"])
    page.wait_for_timeout(500)
    canvas.screenshot(path=str(artifacts / "beige-reopened-zh.png"))
    page.screenshot(path=str(artifacts / "designer-zh.png"))
    again = mean_colour(artifacts / "beige-reopened-zh.png", at, box)
    assert again[2] < again[0] - 20, again
    expect(page.locator("#bom tbody")).to_contain_text("(米色)")


def test_the_catalog_lists_what_fits_a_wall_and_adds_it_against_the_wall(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    plan_id = api_design(server, settings, customer, design)["floor_plan_id"]
    plan = requests.get(f"{server}/v1/floorplans/{plan_id}/plan.json",
                        headers=auth(settings, customer), timeout=10).json()
    length = {w["id"]: math.dist(w["start"], w["end"]) for w in plan["walls"]}
    wall = min((w for w in plan["walls"] if length[w["id"]] >= 1.5), key=lambda w: length[w["id"]])
    open_design(page, server, design, bearer(settings, customer))
    everything = page.locator("#catalog button[data-sku]")
    expect(everything).not_to_have_count(0)
    anywhere = everything.count()
    page.get_by_label("Fits").select_option(f"wall:{wall['id']}")
    expect(everything).not_to_have_count(anywhere)
    shown = everything.evaluate_all("bs => bs.map(b => b.dataset.sku)")
    assert shown
    widths = {i["sku"]: i["width_mm"] for i in requests.get(
        f"{server}/v1/search", params={"limit": 100}, timeout=10).json()["items"]}
    assert all(widths[sku] <= length[wall["id"]] * 1000 for sku in shown)
    assert any(width is not None and width > length[wall["id"]] * 1000
               for width in widths.values())
    everything.first.click()
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    expect(page.locator("#items button")).to_have_count(11)
    added = [p for p in api_design(server, settings, customer, design)["placements"]
             if p["id"] not in {"sofa", "floor-lamp", "dishwasher", "coffee", "bed", "wardrobe",
                                "toilet", "washer", "guest-bed", "bedside-lamp"}]
    assert [p["sku"] for p in added] == [shown[0]]
    depth = next(i for i in requests.get(f"{server}/v1/search", params={"limit": 100},
                                         timeout=10).json()["items"]
                 if i["sku"] == shown[0])["depth_mm"] / 1000
    (ax, ay), (bx, by) = wall["start"], wall["end"]
    px, py = added[0]["position"]
    off_line = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length[wall["id"]]
    assert abs(off_line - (wall["thickness"] / 2 + depth / 2)) < 0.01  # backed against it
    page.wait_for_function("id => homeloopKiosk.screenOf(id) !== null", arg=added[0]["id"])


def test_a_kiosk_signs_in_and_opens_its_store_design(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    _customer, demo = demo_design(settings, db)
    kiosk, secret = create_kiosk(db, settings, "SH-XUHUI", "entrance", "test")
    layout = db.execute("SELECT f.layout_id FROM floor_plans f JOIN designs d "
                        "ON d.floor_plan_id = f.id WHERE d.id = %s", (demo,)).fetchone()
    assert layout is not None
    made = requests.post(f"{server}/v1/designs", timeout=10,
                         headers=auth(settings, "kiosk:other", store="SH-XUHUI"),
                         json={"layout_id": layout[0], "placements": []})
    assert made.status_code == 201, made.text
    page.goto(f"{server}/kiosk/?lang=en")
    form = page.get_by_role("heading", name="Sign in this kiosk")
    expect(form).to_be_visible()
    page.get_by_label("Kiosk number").fill(str(kiosk.id))
    page.get_by_label("Kiosk secret").fill("not the secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("Sign-in failed")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()  # no one to sign out
    page.get_by_label("Kiosk secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Design number")).to_be_visible()
    expect(page.locator("p#status")).not_to_contain_text("Sign-in failed")  # it did not
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_label("Design number").fill(made.json()["id"])
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)
    expect(page.get_by_role("button", name="Send to phone")).to_be_visible()
    # a session that has ended (here: a token that is not one) asks to sign in again
    page.goto(f"{server}/kiosk/?design={made.json()['id']}&lang=en#token=expired.token.x")
    expect(page.get_by_role("status")).to_have_text("Your session has ended: sign in again.")
    expect(page.get_by_label("Kiosk number")).to_be_visible()
    page.get_by_label("Kiosk number").fill(str(kiosk.id))
    page.get_by_label("Kiosk secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)
    # the customer's own design is not the kiosk's without their grant
    page.goto(f"{server}/kiosk/?design={demo}&lang=en")
    expect(page.locator("body")).to_have_attribute("data-state", "error")
    expect(page.get_by_role("status")).not_to_be_empty()


def test_a_customer_lets_the_kiosk_in_by_qr_and_it_starts_their_design_on_a_layout(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, theirs = demo_design(settings, db)
    page.goto(f"{server}/kiosk/?lang=en#token={bearer(settings, 'kiosk:desk', store='SH-XUHUI')}")
    expect(page.get_by_role("heading", name="Start a design")).to_be_visible()
    page.get_by_role("button", name="Customer: scan to sign in here").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    code = page.get_by_test_id("handoff-code").inner_text()
    assert page.get_by_test_id("qr").get_attribute("data-link") == \
        f"homeloop://kiosk-handoff?code={code}"
    granted = requests.post(f"{server}/v1/me/kiosk-grants", json={"code": code},
                            headers=auth(settings, customer), timeout=10)
    assert granted.status_code == 201, granted.text
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_label("For")).to_have_value(str(customer))
    # the customer's own designs are now listed on the kiosk, to open one
    expect(page.locator("#my-designs a")).to_have_attribute("href", f"?design={theirs}")
    page.get_by_label("Residential community or address").fill("Jade")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Jade Garden, Shanghai: Three bedrooms, 90 m² (90 m²)").click()
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)
    design = page.evaluate("new URLSearchParams(location.search).get('design')")
    assert api_design(server, settings, customer, design)["owner_id"] == customer


def test_enter_vr_appears_only_where_webxr_offers_immersive_vr(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    token = bearer(settings, customer)
    open_design(page, server, design, token)
    expect(page.locator("#catalog button[data-sku]")).not_to_have_count(0)  # all panels asked
    expect(page.get_by_role("button", name="Enter VR")).to_be_hidden()  # no headset here
    # a browser whose WebXR says immersive VR is supported (a VR kiosk), but no headset answers
    page.add_init_script("""
        window.xrAsked = [];
        Object.defineProperty(navigator, 'xr', {value: {
          isSessionSupported: async (mode) => mode === 'immersive-vr',
          requestSession: async (mode) => {
            window.xrAsked.push(mode); throw new Error('no headset'); },
        }});""")
    page.goto("about:blank")  # a new document, so the script runs first
    open_design(page, server, design, token)
    page.get_by_role("button", name="Enter VR").click()
    expect(page.get_by_role("status")).to_have_text("VR is not available here.")
    assert page.evaluate("window.xrAsked") == ["immersive-vr"]


def test_add_a_product_offers_furniture_and_appliances_not_what_they_consume(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    expect(page.get_by_label("Fits")).to_have_value("any")
    offered = page.locator("#catalog button[data-sku]")
    expect(offered.filter(has_text="SÖDER 3-seat sofa, grey")).to_have_count(1)
    shown = set(offered.evaluate_all("bs => bs.map(b => b.dataset.sku)"))
    consumed = {consumable for _device, consumable, *_ in CONSUMABLES} | {"FLOOR-OAK"}
    assert {"RINSE-500", "POD-ESP-50", "FLT-RO-1", "DET-TAB-30"} <= consumed
    assert shown & consumed == set()
    # what stands in a room: the seed's furniture, appliances and fittings, all of them
    placed = {sku for sku, *_ in SKUS if sku in INSTALL}
    assert shown == placed


def test_a_customer_who_signs_out_is_told_so_not_shown_the_kiosks_sign_in(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer), lang="zh-CN")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="您已退出")).to_be_visible()
    expect(page.get_by_text("请用 Homeloop 应用登录")).to_be_visible()
    expect(page.get_by_role("button", name="退出")).to_be_hidden()
    expect(page.get_by_role("heading", name="登录本台自助终端")).to_be_hidden()
    expect(page.locator("#designer")).to_be_hidden()
    page.screenshot(path=str(artifacts / "signed-out.png"))
    # the same tab used as a kiosk after all: its sign-in is one tap away
    page.get_by_role("button", name="这是门店终端").click()
    expect(page.get_by_label("终端编号")).to_be_visible()
    expect(page.get_by_role("button", name="退出")).to_be_hidden()


def test_a_kiosk_that_signs_out_shows_its_sign_in_again(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    page.goto(f"{server}/kiosk/?lang=en#token={bearer(settings, 'kiosk:desk', store='SH-XUHUI')}")
    expect(page.get_by_role("heading", name="Start a design")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in this kiosk")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_the_catalog_lists_what_fits_the_spot_tapped_on_the_floor(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    # the bathroom-sized room between the bedrooms: tap the middle of its floor
    spot = page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)", [5.0, 6.2])
    page.mouse.click(spot["x"], spot["y"])
    fits = page.get_by_label("Fits")
    expect(fits).to_have_value("spot")  # the tap chose it
    option = fits.locator("option[value=spot]")
    expect(option).to_have_count(1)
    free = re.search(r"\(([\d.]+) \S ([\d.]+) m free\)", option.inner_text())
    assert free is not None
    width, depth = float(free[1]), float(free[2])
    assert 0.5 < width < 4 and 0.5 < depth < 6
    items = page.locator("#catalog button[data-sku]")
    expect(items).not_to_have_count(0)
    catalog = {i["sku"]: i for i in requests.get(f"{server}/v1/search", params={"limit": 100},
                                                 timeout=10).json()["items"]}
    shown = items.evaluate_all("bs => bs.map(b => b.dataset.sku)")
    assert all(catalog[s]["width_mm"] <= width * 1000 and catalog[s]["depth_mm"] <= depth * 1000
               for s in shown)
    assert len(shown) < len([i for i in catalog.values() if i["width_mm"]])


AXE = PROJECT_ROOT / "web" / "kiosk" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[str]:
    """WCAG 2 A and AA rules (labels, names, contrast, roles...) by axe-core (the lockfile's)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in found]


def test_the_designer_and_its_sign_in_pass_the_wcag_a_and_aa_checks(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    page.goto(f"{server}/kiosk/?lang=en")
    expect(page.get_by_role("heading", name="Sign in this kiosk")).to_be_visible()
    assert axe_violations(page) == []
    open_design(page, server, design, bearer(settings, customer))
    page.get_by_role("button", name="SÖDER 3-seat sofa, grey · SOFA-3-GREY").click()
    expect(page.locator("#bom tbody tr")).not_to_have_count(0)
    assert axe_violations(page) == []
    open_design(page, server, design, bearer(settings, customer), lang="zh-CN")
    assert axe_violations(page) == []


def test_tapping_a_wall_filters_the_catalog_to_it(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    # the bathroom's west wall, (4, 5)-(4, 9), 2.6 m high: tap near its top
    at = page.evaluate("([x, y, h]) => homeloopKiosk.screenOfPlan(x, y, h)", [4.0, 7.0, 2.5])
    page.mouse.click(at["x"], at["y"])
    expect(page.get_by_label("Fits")).to_have_value("wall:bath-w")
    expect(page.locator("#catalog button[data-sku]")).not_to_have_count(0)
    # dragging across the floor looks around and leaves the filter as it is
    spot = page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)", [5.0, 2.0])
    page.mouse.move(spot["x"], spot["y"])
    page.mouse.down()
    page.mouse.move(spot["x"] + 120, spot["y"] + 40, steps=5)
    page.mouse.up()
    expect(page.get_by_label("Fits")).to_have_value("wall:bath-w")


def test_a_wall_tapped_before_the_plan_has_come_still_filters_the_catalog(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    """The room is drawn before its plan (walls, rooms) has come: a person may tap already."""
    customer, design = demo_design(settings, db)
    held: list[Route] = []

    def hold(route: Route) -> None:  # the plan is slow to come
        held.append(route)

    page.route("**/plan.json*", hold)  # the page adds its language (?lang=)
    open_design(page, server, design, bearer(settings, customer))
    at = page.evaluate("([x, y, h]) => homeloopKiosk.screenOfPlan(x, y, h)", [4.0, 7.0, 2.5])
    page.mouse.click(at["x"], at["y"])
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_label("Fits")).to_have_value("wall:bath-w")
    expect(page.locator("#catalog button[data-sku]")).not_to_have_count(0)


def test_the_designer_and_the_product_page_have_an_icon(page: Page, server: str) -> None:
    for path in ("/kiosk/?lang=en", "/kiosk/product.html?sku=NONE&lang=en"):
        page.goto(f"{server}{path}")
        icon = page.evaluate("document.querySelector('link[rel=icon]').href")
        answer = requests.get(icon, timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in answer.content


def test_a_wall_choice_names_its_room_and_counts_only_what_is_free_there(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    """The demo's west wall is 9 m long, but it runs along two rooms: 5 m of the living room,
    where the sofa and a floor lamp stand against it, and 4 m of Bedroom 1, where the wardrobe
    does. "Along wall west (9.0 m free)" was true of neither."""
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    fits = page.get_by_label("Fits")
    expect(fits.locator("option[value^='wall:west']")).to_have_count(2)
    west = {o.get_attribute("value"): o.inner_text()
            for o in fits.locator("option[value^='wall:west']").all()}
    assert set(west) == {"wall:west", "wall:west@living"}, west
    bedroom = re.fullmatch(r"Along wall west in Bedroom 1 \(([\d.]+) m free\)", west["wall:west"])
    living = re.fullmatch(r"Along wall west in Living room \(([\d.]+) m free\)",
                          west["wall:west@living"])
    assert bedroom and living, west
    # Bedroom 1: 4 m less the wardrobe (1.5 m wide, 1.25-2.75 m from the corner): 2.25 m
    assert 2.0 <= float(bedroom[1]) <= 2.5
    # the living room: between the middle wall and the sofa (2.18 m wide, centred 2.5 m from
    # the south wall): 1.41 m
    assert 1.2 <= float(living[1]) <= 1.6
    fits.select_option("wall:west@living")
    shown = page.locator("#catalog button[data-sku]")
    expect(shown).not_to_have_count(0)
    widths = {i["sku"]: i["width_mm"] for i in requests.get(
        f"{server}/v1/search", params={"limit": 100}, timeout=10).json()["items"]}
    skus = shown.evaluate_all("bs => bs.map(b => b.dataset.sku)")
    assert all(widths[sku] <= float(living[1]) * 1000 + 50 for sku in skus), skus
    assert "SOFA-3-GREY" not in skus  # 2.18 m: it fit the 9 m wall, not the free 1.4 m
    # in Chinese: the room's Chinese name, the free run in 米
    page.goto(f"{server}/kiosk/?design={design}&lang=zh-CN#token={bearer(settings, customer)}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)
    expect(page.locator("#fit option[value='wall:west@living']")).to_have_count(1)
    chinese = page.locator("#fit option[value='wall:west@living']").inner_text()
    assert re.fullmatch(r"客厅沿墙 west（可用 [\d.]+ 米）", chinese), chinese
