"""The room designer as a person uses it: open the demo design, move and turn products, see
the checks, save with If-Match and see conflicts, hand the design to a phone."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.kiosk.conftest import bearer, demo_design

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")


def open_design(page: Page, server: str, design: str, token: str, lang: str = "en") -> None:
    page.goto(f"{server}/kiosk/?design={design}&lang={lang}#token={token}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=20_000)


def api_design(server: str, settings: Settings, who: str | int, design: str,
               **claims: object) -> dict[str, Any]:
    answer = requests.get(f"{server}/v1/designs/{design}", headers=auth(settings, who, **claims),
                          timeout=10)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def by_id(design: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in design["placements"]}


def drag(page: Page, start: dict[str, float], end: dict[str, float]) -> None:
    """Press on ``start`` (a product's top), move in ten steps to ``end``, let go."""
    assert page.evaluate("([x, y]) => homeloopKiosk.pickAt(x, y)", [start["x"], start["y"]])
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(start["x"] + (end["x"] - start["x"]) * i / 10,
                        start["y"] + (end["y"] - start["y"]) * i / 10)
    page.mouse.up()


def test_the_demo_design_renders_with_its_items_and_findings(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    shot = artifacts / "demo-design.png"
    page.locator("#view").screenshot(path=str(shot))
    pixels = Image.open(shot).convert("RGB")
    colours = pixels.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the canvas is blank or one flat colour"
    background = max(colours)[1]
    drawn = sum(n for n, c in colours if c != background)
    assert drawn > pixels.width * pixels.height * 0.1, "the room covers almost none of the view"
    expect(page.locator("#items button")).to_have_count(10)
    expect(page.get_by_test_id("version")).to_have_text("version 1")
    # the demo's one finding: the assembled wardrobe's box will not pass the bedroom door
    expect(page.locator("#findings li.finding")).to_have_count(1)
    expect(page.locator("#findings li.finding")).to_contain_text("door")
    expect(page.locator("#labels .tag")).to_have_count(1)
    expect(page.locator("#bom tbody tr")).not_to_have_count(0)


def test_dragging_a_product_saves_a_new_version_on_the_grid(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    customer, design = demo_design(settings, db)
    before = by_id(api_design(server, settings, customer, design))
    open_design(page, server, design, bearer(settings, customer))
    moved = next(p for p in before.values() if p["sku"].startswith("LAMP"))
    start = page.evaluate("id => homeloopKiosk.screenOf(id)", moved["id"])
    target = page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)",
                           [moved["position"][0] + 0.4, moved["position"][1] + 0.3])
    drag(page, start, target)
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    page.locator("#view").screenshot(path=str(artifacts / "after-drag.png"))
    after = api_design(server, settings, customer, design)
    assert after["version"] == 2
    x, y = by_id(after)[moved["id"]]["position"]
    assert (x, y) != tuple(moved["position"])
    for v in (x, y):  # on the 5 cm grid, or against a wall face (snapped in mm)
        assert abs(v * 20 - round(v * 20)) < 1e-6 or abs(v * 1000 - round(v * 1000)) < 1e-6
    others = {k: v for k, v in by_id(after).items() if k != moved["id"]}
    assert others == {k: v for k, v in before.items() if k != moved["id"]}


def test_a_colliding_placement_shows_the_warning_on_the_item(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    customer, design = demo_design(settings, db)
    placements = by_id(api_design(server, settings, customer, design))
    open_design(page, server, design, bearer(settings, customer))
    expect(page.locator("#findings li[data-check=product_overlap]")).to_have_count(0)
    lamp = next(p for p in placements.values() if p["sku"] == "LAMP-FLOOR")
    sofa = next(p for p in placements.values() if p["sku"].startswith("SOFA"))
    start = page.evaluate("id => homeloopKiosk.screenOf(id)", lamp["id"])
    assert page.evaluate("([x, y]) => homeloopKiosk.pickAt(x, y)", [start["x"], start["y"]]) == \
        lamp["id"]  # the lamp itself, not the sofa in front of it
    lamp_at, sofa_at = (page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)", p["position"])
                        for p in (lamp, sofa))
    drag(page, start, {"x": start["x"] + sofa_at["x"] - lamp_at["x"],
                       "y": start["y"] + sofa_at["y"] - lamp_at["y"]})
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    overlap = page.locator("#findings li[data-check=product_overlap]")
    expect(overlap).to_have_count(1)
    assert set((overlap.get_attribute("data-placements") or "").split()) == {lamp["id"], sofa["id"]}
    # on the items themselves: a tag over each of the two products
    expect(page.locator(f"#labels .tag[data-placement='{lamp['id']}']")).to_be_visible()
    expect(page.locator(f"#labels .tag[data-placement='{sofa['id']}']")).to_be_visible()
    page.screenshot(path=str(artifacts / "collision.png"))


def test_a_change_made_elsewhere_is_a_clear_conflict_not_an_overwrite(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer))
    # the same design changed on the customer's phone meanwhile: version 2
    current = api_design(server, settings, customer, design)
    edited = requests.put(f"{server}/v1/designs/{design}",
                          json={"placements": current["placements"][1:]},
                          headers={**auth(settings, customer), "If-Match": '"v1"'}, timeout=10)
    assert edited.status_code == 200
    page.locator("#items button").first.click()
    page.locator("#view").press("ArrowRight")
    expect(page.get_by_role("alert")).to_contain_text("now version 2")
    expect(page.get_by_role("button", name="Reload the latest version")).to_be_focused()
    after = api_design(server, settings, customer, design)
    assert after["version"] == 2 and after["placements"] == current["placements"][1:]


def test_keyboard_moves_and_turns_in_chinese(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    before = api_design(server, settings, customer, design)["placements"][0]
    open_design(page, server, design, bearer(settings, customer), lang="zh-CN")
    expect(page.get_by_role("heading", name="房间设计")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page).to_have_title("房间设计 · Homeloop")  # the tab says it too
    expect(page.locator("#catalog button[data-sku=DW-60]")).to_have_text(
        "+NORDVIK 60厘米洗碗机 · 598\u00d7570 毫米")
    # what the server writes is Chinese too: the check, the bill's names and amounts
    finding = page.locator("#findings li.finding")
    expect(finding).to_contain_text(re.compile(r"包装好的衣柜（[\d × ]+厘米）无法通过从客厅到"
                                               r"卧室1的门"))
    expect(page.locator("#bom tbody")).to_contain_text("MALM 双人床")
    expect(page.locator("#bom tbody")).not_to_contain_text("MALM bed")
    expect(page.locator("#bom tfoot")).to_contain_text("¥")
    page.locator("#items button").first.focus()
    page.keyboard.press("Enter")
    page.locator("#view").press("ArrowRight")
    expect(page.get_by_test_id("version")).to_have_text("第 2 版")
    page.locator("#view").press("]")
    expect(page.get_by_test_id("version")).to_have_text("第 3 版")
    after = by_id(api_design(server, settings, customer, design))[before["id"]]
    # one 5 cm step to the right (x), landing on the 5 cm grid
    assert abs(after["position"][0] - round((before["position"][0] + 0.05) / 0.05) * 0.05) < 1e-6
    assert after["position"][1] == before["position"][1]
    assert after["rotation"] % 15 == 0 and after["rotation"] != before["rotation"]
    page.get_by_role("button", name="撤销").click()  # undo the turn
    expect(page.get_by_test_id("version")).to_have_text("第 4 版")
    undone = by_id(api_design(server, settings, customer, design))[before["id"]]
    assert undone["rotation"] == before["rotation"] and undone["position"] == after["position"]
    page.get_by_role("button", name="English").click()  # and back to English, in place
    expect(page.get_by_role("heading", name="Room designer")).to_be_visible()
    expect(page).to_have_title("Room designer · Homeloop")
    expect(finding).to_contain_text("The boxed wardrobe")  # asked again, in English
    expect(page.locator("#bom tbody")).to_contain_text("MALM bed")
    expect(page.get_by_test_id("version")).to_have_text("version 4")
    assert page.evaluate("document.documentElement.lang") == "en"


def test_a_kiosk_hands_its_design_to_the_customer_with_a_qr_code(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    customer, demo = demo_design(settings, db)
    layout = db.execute("SELECT layout_id FROM floor_plans f JOIN designs d "
                        "ON d.floor_plan_id = f.id WHERE d.id = %s", (demo,)).fetchone()
    assert layout is not None
    kiosk = auth(settings, "kiosk:entrance", store="SH-XUHUI")
    placements = api_design(server, settings, customer, demo)["placements"][:3]
    made = requests.post(f"{server}/v1/designs", headers=kiosk, timeout=10,
                         json={"layout_id": layout[0], "placements": placements})
    assert made.status_code == 201, made.text
    design = made.json()["id"]
    open_design(page, server, design, kiosk["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Send to phone").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    code = page.get_by_test_id("handoff-code").inner_text()
    assert len(code) == 8
    qr = page.get_by_test_id("qr")
    assert qr.get_attribute("data-link") == f"{server}/v1/handoffs/{code}"
    qr.screenshot(path=str(artifacts / "handoff-qr.png"))
    colours = Image.open(artifacts / "handoff-qr.png").convert("L").getcolors()
    assert colours is not None and {c for _, c in colours} >= {0, 255}
    claimed = requests.post(f"{server}/v1/handoffs/{code}/claim",
                            headers=auth(settings, customer), timeout=10)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["owner_id"] == customer
    again = requests.post(f"{server}/v1/handoffs/{code}/claim",
                          headers=auth(settings, customer), timeout=10)
    assert again.status_code == 410


def test_a_finger_drags_a_product_on_a_touch_kiosk(
        browser: Browser, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    before = by_id(api_design(server, settings, customer, design))["bed"]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        page = context.new_page()
        open_design(page, server, design, bearer(settings, customer))
        start = page.evaluate("id => homeloopKiosk.screenOf(id)", "bed")
        end = page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)",
                            [before["position"][0] + 0.5, before["position"][1] - 0.5])
        touch = context.new_cdp_session(page)  # real touch events, as a touch screen sends

        def finger(kind: str, at: dict[str, float] | None) -> None:
            points = [] if at is None else [{"x": at["x"], "y": at["y"], "id": 1}]
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        finger("touchStart", start)
        for i in range(1, 11):
            finger("touchMove", {"x": start["x"] + (end["x"] - start["x"]) * i / 10,
                                 "y": start["y"] + (end["y"] - start["y"]) * i / 10})
        finger("touchEnd", None)
        expect(page.get_by_test_id("version")).to_have_text("version 2")
    finally:
        context.close()
    after = by_id(api_design(server, settings, customer, design))["bed"]
    assert after["position"] != before["position"]


def test_a_product_dragged_near_a_wall_backs_against_it_facing_the_room(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    placements = api_design(server, settings, customer, design)["placements"]
    sofa = next(p for p in placements if p["id"] == "sofa")
    assert sofa["position"] == [0.54, 2.5] and sofa["rotation"] == 90  # against the west wall
    sofa.update(position=[0.75, 2.5], rotation=75)  # pulled out and askew
    moved = requests.put(f"{server}/v1/designs/{design}", json={"placements": placements},
                         headers={**auth(settings, customer), "If-Match": '"v1"'}, timeout=10)
    assert moved.status_code == 200
    open_design(page, server, design, bearer(settings, customer))
    start = page.evaluate("id => homeloopKiosk.screenOf(id)", "sofa")
    a, b = (page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)", p)
            for p in ([0.75, 2.5], [0.70, 2.5]))
    drag(page, start, {"x": start["x"] + b["x"] - a["x"], "y": start["y"] + b["y"] - a["y"]})
    expect(page.get_by_test_id("version")).to_have_text("version 3")
    after = by_id(api_design(server, settings, customer, design))["sofa"]
    # 0.1 m half the wall + 0.44 m half the sofa's depth, turned to face into the room
    assert after["position"] == [0.54, 2.5]
    assert after["rotation"] == 90


def test_a_long_product_dragged_beside_a_wall_keeps_facing_where_it_faced(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    """The bed (1.96 m wide, 2.09 m long) backs onto Bedroom 1's north wall, facing the door.
    Dragged west until its side is 15 cm from the west wall, it stays as it was turned: its
    length is not its depth towards that wall, and its back is not against it."""
    customer, design = demo_design(settings, db)
    bed = by_id(api_design(server, settings, customer, design))["bed"]
    assert bed["position"] == [2.0, 7.855] and bed["rotation"] == 180
    open_design(page, server, design, bearer(settings, customer))
    start, end = (page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y)", p)
                  for p in (bed["position"], [1.25, 7.5]))
    drag(page, start, end)
    expect(page.get_by_test_id("version")).to_have_text("version 2")
    after = by_id(api_design(server, settings, customer, design))["bed"]
    assert after["rotation"] == 180
    assert math.dist(after["position"], [1.25, 7.5]) < 0.08, after["position"]


def test_two_fingers_turn_a_product_in_15_degree_steps(
        browser: Browser, server: str, settings: Settings, db: psycopg.Connection[Any]) -> None:
    customer, design = demo_design(settings, db)
    before = by_id(api_design(server, settings, customer, design))["washer"]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    try:
        page = context.new_page()
        open_design(page, server, design, bearer(settings, customer))
        centre = page.evaluate("id => homeloopKiosk.screenOf(id)", "washer")
        touch = context.new_cdp_session(page)

        def fingers(kind: str, *points: tuple[float, float]) -> None:
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]})

        one = (centre["x"], centre["y"])
        fingers("touchStart", one)
        fingers("touchStart", one, (one[0] + 120, one[1]))
        for degrees in range(5, 50, 5):  # the second finger goes 45° clockwise round the first
            a = math.radians(degrees)
            fingers("touchMove", one, (one[0] + 120 * math.cos(a), one[1] + 120 * math.sin(a)))
        fingers("touchEnd", one)
        fingers("touchEnd")
        expect(page.get_by_test_id("version")).to_have_text("version 2")
    finally:
        context.close()
    after = by_id(api_design(server, settings, customer, design))["washer"]
    assert after["position"] == before["position"]
    assert (before["rotation"] - after["rotation"]) % 360 == 45  # clockwise seen from above
