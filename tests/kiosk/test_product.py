"""The phone's product page (<model-viewer>) with the models the AR assets pipeline really
makes: their phone versions are meshopt-compressed, so the page must give model-viewer the
decoder, from this server."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, ViewportSize, expect

from devtools.demo.models import seed_models, upload_model
from homeloop.db import connect
from homeloop.settings import Settings
from tests.floorplans.test_scenes import variant_model

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 1024, "height": 768}


def extensions_used(glb: bytes) -> list[str]:
    """The glTF extensions a GLB declares (from its JSON chunk)."""
    length, kind = struct.unpack_from("<II", glb, 12)
    assert kind == 0x4E4F534A  # "JSON"
    used: list[str] = json.loads(glb[20:20 + length]).get("extensionsUsed", [])
    return used


def console_errors(page: Page) -> list[str]:
    """The console's errors from now on (model-viewer reports a model it cannot load there),
    and the answers that failed."""
    errors: list[str] = []

    def logged(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location['url']})")

    def answered(response: Response) -> None:
        if response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("console", logged)
    page.on("response", answered)
    return errors


def drawn_share(shot: Path) -> tuple[int, float]:
    """How many colours a screenshot has, and the share of its pixels not the background's."""
    pixels = Image.open(shot).convert("RGB")
    found = pixels.getcolors(maxcolors=1 << 20)
    assert found is not None
    colours = [(n, tuple(c) if isinstance(c, tuple) else (int(c),) * 3) for n, c in found]
    background = max(colours)[1]
    drawn = sum(n for n, c in colours
                if sum(abs(a - b) for a, b in zip(c, background, strict=True)) > 12)
    return len(colours), drawn / (pixels.width * pixels.height)


def open_product(page: Page, server: str, sku: str, lang: str) -> None:
    page.goto(f"{server}/kiosk/product.html?sku={sku}&lang={lang}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready", timeout=30_000)


@pytest.mark.parametrize(("sku", "lang", "viewport"), [
    ("SOFA-3-GREY", "zh-CN", PHONE),  # a supplier's textured sample
    ("BED-180", "en", TABLET),  # a generated one
])
def test_the_product_page_shows_the_demo_models_compressed_phone_version(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path, sku: str, lang: str, viewport: ViewportSize) -> None:
    with connect(settings) as conn:
        assert seed_models(conn, settings, say=lambda _line: None, skus={sku}) == [(sku, "ready")]
    phone = requests.get(f"{server}/v1/skus/{sku}/model", params={"profile": "phone"}, timeout=10)
    assert phone.ok and "EXT_meshopt_compression" in extensions_used(phone.content)
    page.set_viewport_size(viewport)
    errors = console_errors(page)
    open_product(page, server, sku, lang)
    expect(page.locator("p#status")).to_be_empty()  # no "Something went wrong"
    if sku == "BED-180":  # a generated shape: no colours, and the page says it is a stand-in
        expect(page.locator("#variant-row")).to_be_hidden()
        expect(page.locator("#placeholder")).to_have_text(
            "A stand-in model: not how this product looks.")
    else:  # the CC0 sofa made to look like the catalog line: its colours, no stand-in note
        expect(page.get_by_label("颜色").locator("option")).to_have_text(["灰色", "米色"])
        expect(page.locator("#placeholder")).to_be_hidden()
    viewer = page.locator("model-viewer")
    expect(viewer).to_be_in_viewport()
    page.wait_for_function("document.querySelector('model-viewer').modelIsVisible")
    shot = artifacts / f"{sku}-{lang}.png"
    viewer.screenshot(path=str(shot))
    page.screenshot(path=str(artifacts / f"{sku}-{lang}-page.png"))
    colours, drawn = drawn_share(shot)
    assert colours > 50 and drawn > 0.05, f"the model is not drawn: {colours} colours, {drawn:.1%}"
    assert errors == []


def mean_rgb(shot: Path) -> tuple[float, float, float]:
    """The mean colour of what is drawn (the background's pixels left out)."""
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    drawn = pixels[np.abs(pixels - background).sum(axis=1) > 12]
    r, g, b = drawn.mean(axis=0)
    return float(r), float(g), float(b)


@pytest.mark.parametrize(("lang", "label", "names"), [
    ("zh-CN", "颜色", ["灰色", "米色"]), ("en", "Colour", ["grey", "beige"])])
def test_the_product_page_switches_the_sofas_colour_on_screen_and_for_quick_look(
        page: Page, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path, lang: str, label: str, names: list[str]) -> None:
    with connect(settings) as conn:
        assert seed_models(conn, settings, say=lambda _line: None, skus={"SOFA-3-GREY"}) == [
            ("SOFA-3-GREY", "ready")]
    page.set_viewport_size(PHONE)
    models: list[str] = []
    page.on("request", lambda r: models.append(r.url) if "/model" in r.url else None)
    errors = console_errors(page)
    open_product(page, server, "SOFA-3-GREY", lang)
    assert any("profile=phone" in url for url in models)
    viewer = page.locator("model-viewer")
    # AR on phones: WebXR / Scene Viewer (Android), Quick Look (iOS) with the USDZ made in the
    # browser from the scene as shown (no ios-src)
    assert viewer.get_attribute("ar") is not None
    assert viewer.get_attribute("ar-modes") == "webxr scene-viewer quick-look"
    assert viewer.get_attribute("ios-src") is None
    colour = page.get_by_label(label)
    expect(colour.locator("option")).to_have_text(names)
    expect(colour).to_have_value("grey")  # the grey sofa shows grey
    page.wait_for_function("document.querySelector('model-viewer').modelIsVisible")

    def shown(name: str) -> tuple[tuple[float, float, float], str]:
        page.wait_for_function(f"document.querySelector('model-viewer').variantName === "
                               f"'{name}'")
        page.wait_for_timeout(500)  # a frame drawn with the new materials
        shot = artifacts / f"sofa-{name}-{lang}.png"
        viewer.screenshot(path=str(shot))
        page.screenshot(path=str(artifacts / f"sofa-{name}-{lang}-page.png"))
        usda: str = page.evaluate("""async () => {
            const url = await document.querySelector('model-viewer').prepareUSDZ();
            const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
            return new TextDecoder('latin1').decode(bytes); }""")
        return mean_rgb(shot), usda

    (gr, gg, gb), grey_usdz = shown("grey")
    colour.select_option(names[1])
    (br, bg, bb), beige_usdz = shown("beige")
    assert page.url.endswith("colour=beige")  # a reload keeps the colour chosen
    # grey has no hue; beige is warm: red above blue by far more than grey's
    assert abs(gr - gb) < 12, (gr, gg, gb)  # the lighting and the backdrop are a little blue
    assert br - bb > 15 and br - bb > (gr - gb) + 12, ((gr, gg, gb), (br, bg, bb))
    # Quick Look's USDZ is made from the colour shown: its fabric's tint changes with it
    assert "usda" in grey_usdz and grey_usdz != beige_usdz
    assert errors == []


def test_every_decoder_the_product_page_names_is_served_here(page: Page, server: str) -> None:
    """Draco, KTX2 (Basis) and meshopt: model-viewer fetches each from where the page says,
    and the deployment reaches no other host."""
    page.goto(f"{server}/kiosk/product.html?sku=NONE&lang=en")
    draco, ktx2, meshopt = page.evaluate("""() => { const mv = customElements.get('model-viewer');
        return [mv.dracoDecoderLocation, mv.ktx2TranscoderLocation,
                mv.meshoptDecoderLocation]; }""")
    files = [draco + "draco_decoder.wasm", draco + "draco_wasm_wrapper.js",
             draco + "draco_decoder.js", ktx2 + "basis_transcoder.js",
             ktx2 + "basis_transcoder.wasm", meshopt]
    for url in files:
        assert url.startswith(f"{server}/kiosk/"), url
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200 and len(answer.content) > 10_000, url


ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0.0.0 Mobile Safari/537.36")


def test_on_an_android_phone_the_product_page_speaks_chinese_and_offers_ar(
        browser: Browser, server: str, settings: Settings, db: psycopg.Connection[Any],
        artifacts: Path) -> None:
    with connect(settings) as conn:
        assert upload_model(conn, settings, "SOFA-3-GREY", variant_model(2.1),
                            "sofa.glb") == "ready"
    context = browser.new_context(viewport=PHONE, user_agent=ANDROID, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        errors = console_errors(page)
        open_product(page, server, "SOFA-3-GREY", "zh-CN")
        expect(page).to_have_title("SÖDER 三人沙发 灰色 · Homeloop")
        expect(page.get_by_role("heading", level=1)).to_have_text("SÖDER 三人沙发 灰色")
        expect(page.locator("#facts")).to_have_text("SOFA-3-GREY · 2180\u00d7880\u00d7780 毫米")
        expect(page.get_by_label("颜色")).to_be_visible()
        # Scene Viewer on Android: the button to see it in your own room, in Chinese
        expect(page.get_by_role("button", name="在您的房间里查看")).to_be_visible()
        page.screenshot(path=str(artifacts / "android-zh.png"))
        assert errors == []
    finally:
        context.close()
