"""Every screen of the home app at phone and tablet size, in Chinese and English, with a
customer's real data from the API: what it shows, a screenshot each (kept under
.local/test-artifacts/home/), axe's WCAG 2.0 and 2.1 A/AA rules, and every Chinese string drawn
with the shipped font."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.kiosk.home.conftest import PHONE, TABLET, Home
from tests.kiosk.test_fonts import drawn_elsewhere, fonts_of_chinese_text
from tests.kiosk.test_panels import AXE

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

# What each screen must show of the seeded home, in each language.
EXPECTED: dict[str, dict[str, list[str]]] = {
    "home": {
        "zh-CN": ["李伟，您好", "AQUA 500G 反渗透净水器", "PP棉前置滤芯", "把握：",
                  "2,600 积分"],
        "en": ["Hello, 李伟", "AQUA 500G RO water purifier", "Confidence:", "2,600 points"]},
    "offers": {"zh-CN": ["PP棉前置滤芯", "确认下单", "我还有", "不需要"],
               "en": ["PP cotton pre-filter", "Order it", "I still have some", "No thanks"]},
    "orders": {
        "zh-CN": ["订单 4", "已安装", "安装师傅：Zhang Wei", "送货时段", "为安装评分"],
        "en": ["Order 4", "Installed", "Installer: Zhang Wei", "Delivery slot",
               "Rate the installation"]},
    "wallet": {"zh-CN": ["您的积分：2,600", "HEKTAR", "上海徐汇店"],
               "en": ["Your points: 2,600", "HEKTAR floor lamp", "Shanghai Xuhui"]},
    "designs": {"zh-CN": ["在房间设计中打开"], "en": ["Open in the room designer"]},
    "viewed": {"zh-CN": ["店内看过的产品", "SÖDER", "上海徐汇店"],
               "en": ["Products you viewed in a store", "SÖDER 3-seat sofa, grey",
                      "Shanghai Xuhui"]},
    "privacy": {"zh-CN": ["保养和耗材提醒", "SH-XUHUI", "导出我的数据", "删除我的资料"],
                "en": ["Service and refill reminders", "SH-XUHUI", "Export my data",
                       "Delete my data"]},
    "register": {"zh-CN": ["标签编号", "登记"], "en": ["Tag number", "Register"]},
}
STORE_NAME = {"zh-CN": "上海徐汇店", "en": "Shanghai Xuhui"}
NAV = {"zh-CN": {"home": "我的家", "offers": "优惠", "orders": "订单", "wallet": "优惠券和积分",
                 "designs": "我的设计", "viewed": "店内看过", "privacy": "隐私",
                 "register": "登记产品"},
       "en": {"home": "My home", "offers": "Offers", "orders": "Orders",
              "wallet": "Coupons & points", "designs": "My designs", "viewed": "Seen in store",
              "privacy": "Privacy", "register": "Register a product"}}


def axe_violations(page: Page) -> list[str]:
    """WCAG 2.0 and 2.1, A and AA, by axe-core (the lockfile's)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {runOnly: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})).violations")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in found]


def open_home(page: Page, server: str, token: str, lang: str | None = None,
              screen: str = "home") -> None:
    query = f"?lang={lang}" if lang else ""
    page.goto(f"{server}/kiosk/home.html{query}#token={token}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    if screen != "home":
        page.goto(f"{server}/kiosk/home.html{query}#{screen}")
    expect(page.locator("body")).to_have_attribute("data-screen", screen)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_every_screen_shows_the_customers_home(
        page: Page, server: str, home: Home, artifacts: Path, lang: str,
        viewport: ViewportSize) -> None:
    page.set_viewport_size(viewport)
    open_home(page, server, home.token, lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    for screen, texts in EXPECTED.items():
        if screen != "home":  # through the navigation, as a person would
            page.get_by_role("navigation").get_by_role(
                "link", name=NAV[lang][screen], exact=True).click()
            expect(page.locator("body")).to_have_attribute("data-screen", screen)
            expect(page.locator("body")).to_have_attribute("data-state", "ready")
        else:  # the usage chart is drawn (uPlot's canvas) once the first screen is up
            expect(page.locator("body")).to_have_attribute("data-chart", "drawn")
            expect(page.locator("#chart canvas")).to_have_count(1)
        main = page.locator("main")
        for text in texts[lang]:
            expect(main).to_contain_text(text)
        if lang == "zh-CN" and screen in ("offers", "wallet", "viewed"):  # stores by name
            expect(main).not_to_contain_text("Shanghai Xuhui")
            expect(main).not_to_contain_text("SH-XUHUI")
        if screen == "offers":  # a pickup store by its name in the reader's language
            expect(main.locator("select[id^='store-'] option[value='SH-XUHUI']").first
                   ).to_have_text(STORE_NAME[lang])
            main.locator("[data-offer]").first.locator("select[id^='how-']").select_option(
                "pickup")  # the store's choice in view for the screenshot
            expect(main.locator("[data-offer]").first.locator("select[id^='store-']")
                   ).to_be_visible()
        page.evaluate("document.fonts.ready.then(() => null)")
        page.screenshot(path=str(artifacts / f"{screen}.png"), full_page=True)
        assert axe_violations(page) == [], screen
        page.evaluate("document.querySelectorAll('[data-cjk]')"  # marks of the last screen
                      ".forEach((e) => e.removeAttribute('data-cjk'))")
        found = fonts_of_chinese_text(page)  # an English page shows Chinese too (names...)
        assert drawn_elsewhere(found) == {}, screen
        assert len(found) >= (len(texts[lang]) if lang == "zh-CN" else 1), screen
