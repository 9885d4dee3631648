"""What a RoomPlan import keeps, shown in the designer: each room's name on its floor (in
Simplified Chinese and in English), and the sides no scan covered drawn in red dashes and
said in the Rooms panel, on a tablet (1024 by 768).

The capture is a merged ``CapturedStructure`` built to Apple's schema by
:mod:`devtools.captures`: a kitchen, a living room and a bathroom sharing walls, and a
bedroom whose west side was never scanned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from customers.store import create_customer
from devtools.captures import Home
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.kiosk.conftest import bearer
from tests.kiosk.test_designer import open_design
from tests.kiosk.test_layout import TABLET, wcag21_violations

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

# (room, its name in English and Chinese, its floor area in m²)
ROOMS = [("Kitchen", "厨房", 14.0), ("Living room", "客厅", 17.08),
         ("Bathroom", "卫生间", 5.66), ("Bedroom", "卧室", 13.52)]


def flat() -> Home:
    """Four rooms on one floor; the bedroom's west side was never scanned."""
    home = Home()
    kitchen = home.scan("kitchen", "kitchen", 0, 0.0, 0.0, 4.0, 3.5)
    living = home.scan("living", "livingRoom", 0, 4.12, 0.0, 9.0, 3.5)
    home.scan("bath", "bathroom", 0, 4.12, 3.62, 6.5, 6.0)
    bed = home.scan("bed", "bedroom", 0, 0.0, 3.62, 4.0, 7.0)
    kitchen.door("east", 1.5, width=0.8, is_open=True)
    living.door("north", 1.2, width=0.75, height=2.0)
    bed.door("south", 2.0, width=0.8)
    living.window("south", 2.4, width=1.8, height=1.4, sill=0.9)
    home.share("kitchen-east", "living-west")
    home.share("living-north", "bath-south")
    home.share("bed-south", "kitchen-north")
    home.unscanned("bed-west")
    return home


def imported_design(server: str, settings: Settings, customer: int) -> tuple[str, dict[str, Any]]:
    """A design on the imported flat, and the plan as the import kept it."""
    h = auth(settings, customer)
    plan = requests.post(f"{server}/v1/floorplans", params={"name": "Scanned flat"},
                         data=json.dumps(flat().structure()),
                         headers={**h, "Content-Type": "application/json"}, timeout=30)
    assert plan.status_code == 201, plan.text
    assert plan.json()["rooms"] == 4
    design = requests.post(f"{server}/v1/designs", timeout=30, headers=h,
                           json={"floor_plan_id": plan.json()["id"], "name": "Scanned flat"})
    assert design.status_code == 201, design.text
    kept = requests.get(f"{server}/v1/floorplans/{plan.json()['id']}/plan.json", headers=h,
                        timeout=30)
    kept.raise_for_status()
    return str(design.json()["id"]), kept.json()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_rooms_of_a_scan_are_named_on_the_plan_and_its_unscanned_side_is_marked(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path, lang: str) -> None:
    customer = create_customer(db, "Lin")
    design, plan = imported_design(server, settings, customer)
    # The import's note, which the panel says in the page's language
    [note_en] = [n for n in plan["notes"] if n.startswith("Bedroom: ")]
    metres = note_en.removeprefix("Bedroom: ").split(" m ")[0]
    assert note_en == (f"Bedroom: {metres} m of its outline has no wall along it (a side the "
                       "scan did not cover)")
    [(start, end)] = next(r for r in plan["rooms"] if r["name"] == "Bedroom")["unscanned"]
    page.set_viewport_size(TABLET)
    open_design(page, server, design, bearer(settings, customer), lang=lang)
    expect(page.locator("#rooms li")).to_have_count(4)
    shot = artifacts / f"rooms-{lang}.png"
    page.screenshot(path=str(shot))

    # Each room's name, in the page's language, over its own floor.
    zh = lang == "zh-CN"
    tags = page.locator("#room-labels .room-tag")
    assert sorted(tags.all_text_contents()) == sorted(z if zh else n for n, z, _ in ROOMS)
    view = page.locator("#view").bounding_box()
    assert view is not None
    for name, name_zh, _ in ROOMS:
        tag = tags.filter(has_text=name_zh if zh else name)
        box = tag.bounding_box()
        assert box is not None, name
        assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"]
    kitchen = tags.filter(has_text="厨房" if zh else "Kitchen").bounding_box()
    living = tags.filter(has_text="客厅" if zh else "Living room").bounding_box()
    assert kitchen is not None and living is not None
    assert kitchen["x"] < living["x"]  # the kitchen is west of the living room

    # The Rooms panel: names with their areas, the bedroom's missing side said with its length.
    items = page.locator("#rooms li")
    for name, name_zh, area in ROOMS:
        item = items.filter(has_text=name_zh if zh else name)
        expect(item).to_contain_text(f"{area:.1f}")
    bedroom = items.filter(has_text="卧室" if zh else "Bedroom")
    note = (f"外轮廓有 {metres} 米没有墙：扫描未覆盖的一侧" if zh
            else f"{metres} m of its outline has no wall along it: a side the scan did not cover")
    expect(bedroom.locator(".note")).to_contain_text(note)
    expect(page.locator("#rooms .note")).to_have_count(1)
    expect(page.locator("#unscanned-legend")).to_be_visible()
    assert "unscanned" in (tags.filter(has_text="卧室" if zh else "Bedroom")
                           .get_attribute("class") or "")

    # The unscanned side is drawn in red dashes on the floor (along x = 0, part of the
    # bedroom's west side); the scanned west wall of the kitchen is not red.
    pixels = Image.open(shot).convert("RGB")

    def red_at(x: float, y: float) -> bool:
        at = page.evaluate("([x, y]) => homeloopKiosk.screenOfPlan(x, y, 0.05)", [x, y])
        r, g, b = pixels.getpixel((round(at["x"]), round(at["y"])))
        return bool(r > 150 and g < 80 and b < 80)

    steps = 20
    along = [(start[0] + (end[0] - start[0]) * (k + 0.5) / steps,
              start[1] + (end[1] - start[1]) * (k + 0.5) / steps) for k in range(steps)]
    assert sum(red_at(x, y) for x, y in along) >= steps // 2  # dashes, 60 % of the length
    assert not any(red_at(0.0, y) for y in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0))

    assert wcag21_violations(page) == []
