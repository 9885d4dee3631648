"""The designer laid out for a phone (390 by 844) and a tablet (1024 by 768): the check tags
over the products, the panel's tables and buttons, target sizes, the accessibility rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from playwright.sync_api import Page, ViewportSize, expect

from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.kiosk.conftest import bearer, demo_design
from tests.kiosk.test_designer import api_design, open_design

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 1024, "height": 768}
SIZES = pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])

Box = dict[str, float]


def overlap(a: Box, b: Box) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def within(inner: Box, outer: Box) -> bool:
    return (inner["x"] >= outer["x"] - 0.5 and inner["y"] >= outer["y"] - 0.5
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5)


def lamp_before_the_wardrobe(server: str, settings: Settings, customer: int,
                             design: str) -> None:
    """The floor lamp stood in front of the assembled wardrobe: a walkway warning on both,
    besides the wardrobe's error (its box will not pass the bedroom door)."""
    placements = api_design(server, settings, customer, design)["placements"]
    for p in placements:
        if p["id"] == "floor-lamp":
            p["position"] = [1.3, 6.0]
    moved = requests.put(f"{server}/v1/designs/{design}", json={"placements": placements},
                         headers={**auth(settings, customer), "If-Match": '"v1"'}, timeout=10)
    assert moved.status_code == 200, moved.text


@SIZES
def test_check_tags_stay_whole_apart_and_say_the_worst_finding(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path, viewport: ViewportSize) -> None:
    customer, design = demo_design(settings, db)
    lamp_before_the_wardrobe(server, settings, customer, design)
    findings = requests.get(f"{server}/v1/designs/{design}/checks",
                            headers=auth(settings, customer), timeout=10).json()
    on_wardrobe = [f for f in findings if "wardrobe" in f["placement_ids"]]
    assert [f["severity"] for f in on_wardrobe] == ["warning", "error"]  # the warning first
    page.set_viewport_size(viewport)
    open_design(page, server, design, bearer(settings, customer))
    tags = page.locator("#labels .tag")
    expect(tags).to_have_count(2)
    page.screenshot(path=str(artifacts / "tags.png"))
    stage = page.locator("#stage").bounding_box()
    help_text = page.locator("#view-help").bounding_box()
    assert stage is not None and help_text is not None
    boxes = [tags.nth(i).bounding_box() for i in range(tags.count())]
    for box in boxes:
        assert box is not None and within(box, stage), (box, stage)  # not cut off
        assert not overlap(box, help_text)
    assert boxes[0] is not None and boxes[1] is not None
    assert not overlap(boxes[0], boxes[1]), boxes
    wardrobe = page.locator("#labels .tag[data-placement=wardrobe]")
    expect(wardrobe).to_have_class("tag error")
    expect(wardrobe).to_contain_text(on_wardrobe[1]["message"])  # the error's words
    expect(wardrobe).to_contain_text("(+1)")
