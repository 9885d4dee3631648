"""Chinese is drawn with the web font the client ships (Noto Sans SC, from npm), never with
whatever the device has: a machine without a CJK font (this one) would draw boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from homeloop.settings import Settings
from tests.floorplans.test_scenes import variant_model
from tests.kiosk.conftest import bearer, demo_design, give_model
from tests.kiosk.test_designer import open_design

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

# Every visible element whose own text has a Chinese character gets a mark, to ask the browser
# (DevTools protocol) which fonts really drew it.
MARK = """() => {
  let n = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    if (!/[\\u3000-\\u303f\\u3400-\\u9fff\\uff00-\\uffef]/.test(text.data)) continue;
    if (!el || el.closest('option, [hidden]') || !el.getClientRects().length) continue;
    if (!el.dataset.cjk) { el.dataset.cjk = String(n++); }
  }
  return n;
}"""


def fonts_of_chinese_text(page: Page) -> dict[str, list[dict[str, Any]]]:
    """For each visible element with Chinese in its text: its text and the fonts that drew it."""
    page.evaluate("document.fonts.ready.then(() => null)")
    count = page.evaluate(MARK)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    found: dict[str, list[dict[str, Any]]] = {}
    for node in cdp.send("DOM.querySelectorAll", {"nodeId": root,
                                                   "selector": "[data-cjk]"})["nodeIds"]:
        attributes = cdp.send("DOM.getAttributes", {"nodeId": node})["attributes"]
        mark = attributes[attributes.index("data-cjk") + 1]
        text = page.evaluate("n => document.querySelector(`[data-cjk='${n}']`).textContent", mark)
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        found[f"{mark}: {text.strip()[:40]}"] = fonts
    cdp.detach()
    assert len(found) == count
    return found


def drawn_elsewhere(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """The Chinese texts drawn (even in part) with a font that is not the shipped one."""
    return {text: [f["familyName"] for f in fonts]
            for text, fonts in found.items()
            if not fonts or any(not f["isCustomFont"] or "Noto Sans SC" not in f["familyName"]
                                for f in fonts)}


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844},
                                      {"width": 1024, "height": 768}])
def test_the_designer_draws_its_chinese_with_the_shipped_font(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path, viewport: ViewportSize) -> None:
    page.set_viewport_size(viewport)
    fonts: list[str] = []
    page.on("response", lambda r: fonts.append(r.url) if r.url.endswith(".woff2") else None)
    page.goto(f"{server}/kiosk/?lang=zh-CN")
    expect(page.get_by_role("heading", name="登录本台自助终端")).to_be_visible()
    found = fonts_of_chinese_text(page)
    assert len(found) >= 5 and drawn_elsewhere(found) == {}
    page.screenshot(path=str(artifacts / "signin-zh.png"))
    customer, design = demo_design(settings, db)
    open_design(page, server, design, bearer(settings, customer), lang="zh-CN")
    expect(page.locator("#bom tbody tr")).not_to_have_count(0)
    found = fonts_of_chinese_text(page)
    assert len(found) >= 10 and drawn_elsewhere(found) == {}
    page.screenshot(path=str(artifacts / "designer-zh.png"))
    # only the parts of the font the page uses are fetched, from this server
    assert fonts and all(url.startswith(f"{server}/kiosk/") for url in fonts)
    assert len(set(fonts)) < 40


def test_the_english_pages_chinese_button_and_the_product_page_use_it_too(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        tmp_path: Path, artifacts: Path) -> None:
    parts: list[str] = []
    page.on("request", lambda r: parts.append(r.url) if r.url.endswith(".woff2") else None)
    page.goto(f"{server}/kiosk/?lang=en")
    expect(page.get_by_role("button", name="中文")).to_be_visible()
    found = fonts_of_chinese_text(page)
    assert list(found) == ["0: 中文"] and drawn_elsewhere(found) == {}
    assert len(parts) <= 2  # an English page fetches only what its two characters need
    give_model(settings, db, "SOFA-3-GREY", variant_model(2.1), tmp_path)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/kiosk/product.html?sku=SOFA-3-GREY&lang=zh-CN")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("沙发")
    found = fonts_of_chinese_text(page)
    assert len(found) >= 2 and drawn_elsewhere(found) == {}
    page.screenshot(path=str(artifacts / "product-zh.png"))
