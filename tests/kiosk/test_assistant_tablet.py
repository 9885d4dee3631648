"""The shop assistant's tablet (导购助手) as an assistant and a manager use it: a whole visit,
from signing in to an order both follow, at two tablet sizes in Chinese and English, with a
screenshot per step, no console error and no WCAG 2.1 A/AA violation (axe-core)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from clienteling import service
from clienteling import store as profiles
from clienteling.discounts import month_of
from customers import store as customers
from device_gateway.provisioning import provision
from devtools.bench.kiosk import FAKE_CAMERA
from devtools.demo.community import seed_floorplans
from homeloop import clock
from homeloop.settings import PROJECT_ROOT, Settings
from identity.audit import Actor
from identity.linking import link_identity
from identity.privacy import set_store_consent
from identity.staff import create_staff
from tests.api.conftest import auth

pytestmark = pytest.mark.real_clock(
    "the API server and Chromium are other processes, on the machine's clock")

AXE = PROJECT_ROOT / "web" / "kiosk" / "node_modules" / "axe-core" / "axe.min.js"

WORDS = {
    "zh-CN": {"refused": "未授权本店", "audited": "访问记录", "state": "剩余 15%，约 9 天",
              "over": "超出预算", "approved": "店长已批准", "slot": "已预约", "picked": "已备货",
              "granted": "已给予", "pending": "等待店长审批", "approvals": "折扣审批",
              # coded values in the tablet's language: tier, city, channel, style
              "coded": ["会员等级: 普通会员", "城市: 上海", "渠道: App 推送", "风格：北欧"]},
    "en": {"refused": "has not let our store", "audited": "access log",
           "state": "at 15%, about 9 days left", "over": "Over the budget",
           "approved": "The manager approved", "slot": "Booked", "picked": "Picked",
           "granted": "off given", "pending": "Waiting for the manager",
           "approvals": "Discount approvals",
           "coded": ["Tier: Member", "City: Shanghai", "Channels: App push", "Style: Nordic"]},
}


@dataclass
class Shop:
    assistant: tuple[str, str]
    manager: tuple[str, str]
    lin: int  # let the store in: found at once
    zhou: int  # has not: asked on the spot


def _card_and_phone(db: Any, settings: Settings, customer: int, card: str, phone: str) -> None:
    link_identity(db, settings, customer, "member_card", card, proof="test", by=Actor("test"))
    link_identity(db, settings, customer, "phone", phone, proof="sms_code", by=Actor("test"))


def seed_shop(db: psycopg.Connection[Any], settings: Settings) -> Shop:
    now = clock.now()
    ann, ann_pw = create_staff(db, "ann.li", "李安", "assistant", "SH-XUHUI")
    _, maya_pw = create_staff(db, "maya.wu", "吴玛雅", "store_manager", "SH-XUHUI")
    db.execute("INSERT INTO assistant_budgets (assistant, month, budget_cents) VALUES "
               "(%s, %s, 10000)", (f"staff:{ann.id}", month_of(now)))  # ¥100 this month
    lin = customers.create_customer(db, "林女士", locale="zh-CN", home_store_id="SH-XUHUI")
    _card_and_phone(db, settings, lin, "C-500000001", "13800005001")
    set_store_consent(db, lin, "SH-XUHUI", True)
    seed_floorplans(db, lin)
    plan = db.execute("SELECT floor_plan_id FROM designs WHERE owner_id = %s", (lin,)).fetchone()
    profiles.upsert_profile(db, lin, {
        "floor_plan_id": plan[0], "rough_in_mm": 400, "home_style": "nordic",
        "budget_cents": 3_000_000, "move_in_date": (now - timedelta(days=40)).date(),
        "age_band": "30-39", "city": "Shanghai"}, now)
    purifier = provision(db, "WP-500", 1)[0]
    customers.claim(db, lin, device_id=purifier.device_id, via="nfc_tap")
    db.execute(  # the pre-filter at 15 %, due in 9 days
        "INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, used, "
        "remaining, days_left, confidence, basis, data_days, prior_weight, cycle_start, "
        "computed_at, due_at) VALUES (%s, 'FLT-PP-1', 'consumable', 'flow_l', 10, 1700, 300, "
        "9.2, 0.8, 'usage', 60, 0.1, %s, %s, %s)",
        (purifier.instance_id, now - timedelta(days=60), now, now + timedelta(days=9.2)))
    for minutes, sku in ((40, "SOFA-3-GREY"), (25, "LAMP-FLOOR"), (10, "SOFA-CORNER")):
        profiles.add_view(db, "tablet-session-1", lin, sku, "SH-XUHUI",
                          now - timedelta(minutes=minutes))
    service.refresh_tags(db, [lin], now)
    zhou = customers.create_customer(db, "周先生", locale="zh-CN", home_store_id="SH-XUHUI")
    _card_and_phone(db, settings, zhou, "C-500000002", "13800005002")
    return Shop(("ann.li", ann_pw), ("maya.wu", maya_pw), lin, zhou)


class Watch:
    """A page's console errors and uncaught exceptions. The one network refusal the tablet
    expects — a member code or number that does not open a customer (404, so that a store
    learns nothing about customers who did not let it in) — is the design, not an error."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if "/v1/staff/customers/lookup" in url and "404" in message.text:
            return
        self.errors.append(f"{message.text} ({url})")


def axe(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa'], rules: {'label-content-name-mismatch': {enabled: true}}})).violations")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in found]


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def tablet(browser: Browser, contexts: list[BrowserContext], size: tuple[int, int],
           server: str, lang: str) -> tuple[Page, Watch]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  has_touch=True)
    context.add_init_script(FAKE_CAMERA)
    contexts.append(context)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server}/kiosk/assist.html?lang={lang}&no-sw")
    return page, watch


def sign_in(page: Page, who: tuple[str, str]) -> None:
    page.locator("#username").fill(who[0])
    page.locator("#password").fill(who[1])
    page.locator("#signin button[type=submit]").click()
    expect(page.locator("#signin")).to_be_hidden()


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_whole_visit(browser: Browser, contexts: list[BrowserContext], server: str,
                       settings: Settings, db: psycopg.Connection[Any], artifacts: Path,
                       size: tuple[int, int], lang: str) -> None:
    shop = seed_shop(db, settings)
    words = WORDS[lang]
    page, watch = tablet(browser, contexts, size, server, lang)
    checked: dict[str, list[str]] = {}
    n = 0

    def step(name: str, *, check: bool = True) -> None:
        nonlocal n
        n += 1
        page.screenshot(path=str(artifacts / f"{n:02d}-{name}.png"), full_page=False)
        if check:
            checked[name] = axe(page)

    expect(page.locator("html")).to_have_attribute("lang", lang)
    step("sign-in")
    sign_in(page, shop.assistant)
    expect(page.locator("#find")).to_be_visible()
    expect(page.locator("#who")).to_have_text(  # the store by its name, not its code
        "ann.li · 上海徐汇店" if lang == "zh-CN" else "ann.li · Shanghai Xuhui")
    step("find")

    # By the member QR: Lin let the store in, her screen opens from one call.
    page.locator("#scan-member").click()
    page.evaluate("window.__qr = 'C-500000001'")
    expect(page.locator("#customer")).to_be_visible()
    expect(page.locator("#c-name")).to_have_text("林女士")
    expect(page.locator("#audited")).to_contain_text(words["audited"])
    expect(page.get_by_test_id("product-state")).to_contain_text(words["state"])
    expect(page.locator("#trail li")).to_have_count(3)
    trail = page.locator("#trail li").all_inner_texts()
    assert "LAMP" in trail[1].upper() or "灯" in trail[1], trail  # in the order seen
    expect(page.locator("svg.plan line")).not_to_have_count(0)
    for text in words["coded"]:
        expect(page.locator("#about")).to_contain_text(text)
    if lang == "zh-CN":  # no code leaks into the Chinese screen
        shown = page.locator("#about").inner_text()
        assert not [raw for raw in ("member", "push", "Shanghai", "nordic") if raw in shown]
    page.evaluate("window.__qr = ''")
    step("customer-by-qr")

    # By phone: Zhou has not let the store in. Refused; asked; he says yes on his phone.
    page.locator("#nav-find").click()
    page.locator("#phone").fill("13800005002")
    page.locator("#by-phone button").click()
    expect(page.locator("#refused")).to_be_visible()
    expect(page.locator("#refused")).to_contain_text(words["refused"])
    step("refused-without-consent")
    page.locator("#ask-consent").click()
    expect(page.locator("#asking")).to_be_visible()
    step("consent-asked")
    phone = auth(settings, shop.zhou)
    waiting = requests.get(f"{server}/v1/me/consent-requests", headers=phone, timeout=10).json()
    assert [w["store_id"] for w in waiting] == ["SH-XUHUI"]
    said = requests.post(f"{server}/v1/me/consent-requests/{waiting[0]['id']}/answer",
                         headers=phone, json={"granted": True}, timeout=10)
    assert said.status_code == 200, said.text
    expect(page.locator("#c-name")).to_have_text("周先生", timeout=10_000)
    expect(page.locator("#audited")).to_be_visible()
    step("allowed-after-confirmation")

    # Back to Lin: search, a recommendation, a product's QR, discounts, the order.
    page.locator("#nav-find").click()
    page.locator("#member-code").fill("C-500000001")
    page.locator("#by-code button").click()
    expect(page.locator("#c-name")).to_have_text("林女士")
    page.locator("#q").fill("沙发" if lang == "zh-CN" else "sofa")
    page.locator("#search button").click()
    expect(page.locator("#results li")).not_to_have_count(0)
    page.locator("#f-stock").select_option("here")
    expect(page.locator("#results-count")).not_to_have_text("")
    step("search")
    expect(page.locator("#recs li button")).not_to_have_count(0)
    recommended = page.locator("#recs li").first
    recommended.get_by_role("button").click()
    expect(page.locator("#cart li[data-sku]")).to_have_count(1)
    page.locator("#scan-product").click()
    page.evaluate(f"window.__qr = '{server}/kiosk/product.html?sku=SOFA-CORNER'")
    expect(page.locator("#cart li[data-sku]")).to_have_count(2)
    page.evaluate("window.__qr = ''")
    step("recommended-and-scanned")

    # Inside the budget (¥100 this month): ¥5 off the recommended item.
    first = page.locator("#cart li[data-sku]").first
    first.get_by_role("button").first.click()
    page.locator("#discount-amount").fill("5")  # ¥5: less than anything's price
    page.locator("#discount-preview").click()
    expect(page.locator("#discount-effect")).not_to_be_empty()
    expect(page.get_by_test_id("over-budget")).to_have_count(0)
    step("discount-inside-budget")
    page.locator("#discount-grant").click()
    expect(page.locator("#status")).to_contain_text(words["granted"])

    # Over it: ¥200 off the corner sofa waits for the manager.
    sofa = page.locator("#cart li[data-sku=SOFA-CORNER]")
    sofa.get_by_role("button").first.click()
    page.locator("#discount-amount").fill("200")
    page.locator("#discount-preview").click()
    expect(page.get_by_test_id("over-budget")).to_contain_text(words["over"])
    step("discount-over-budget")
    page.locator("#discount-grant").click()
    expect(page.locator("#status")).to_contain_text(words["pending"])
    expect(page.locator("#place-order")).to_be_disabled()

    # The manager, on another tablet, approves it.
    boss, boss_watch = tablet(browser, contexts, size, server, lang)
    sign_in(boss, shop.manager)
    expect(boss.locator("#h-approvals")).to_have_text(words["approvals"])
    expect(boss.get_by_test_id("queue").locator("li")).to_have_count(1)
    boss.screenshot(path=str(artifacts / f"{n + 1:02d}-manager-queue.png"))
    n += 1
    checked["manager-queue"] = axe(boss)
    boss.get_by_test_id("queue").locator("button.primary").click()
    expect(boss.get_by_test_id("queue"), boss.locator("#status").inner_text()).to_have_count(0)
    expect(page.locator("#status")).to_contain_text(words["approved"], timeout=10_000)
    expect(page.locator("#place-order")).to_be_enabled()
    step("discount-approved")

    # The order: delivered from Pudong (Xuhui has no corner sofa), in a booked window.
    page.locator("#place-order").click()
    expect(page.locator("#order")).to_be_visible()
    expect(page.locator("#slot")).to_be_visible()
    step("order-placed")
    page.locator("#order form button").click()
    expect(page.locator("#order p.ok")).to_contain_text(words["slot"])
    expect(page.get_by_test_id("order-steps").locator("li[data-status=slot]")).to_have_count(1)
    page.locator("#order button[data-step=picked]").click()
    expect(page.get_by_test_id("order-steps").locator("li[data-status=picked]")).to_have_count(1)
    step("order-followed")
    orders = requests.get(f"{server}/v1/me/orders", headers=auth(settings, shop.lin),
                          timeout=10).json()
    assert len(orders) == 1
    order_id = orders[0]["id"]
    # placed, its window booked, picked
    assert [e["status"] for e in orders[0]["events"]] == ["placed", "placed", "picked"]
    assert orders[0]["slot_starts_at"] is not None
    assert sum(line["discount_cents"] for line in orders[0]["lines"]) == 500 + 20000

    # The manager follows the same order.
    boss.locator("#nav-find").click()
    boss.locator("#open-order-id").fill(str(order_id))
    boss.locator("#open-order-form button").click()
    expect(boss.get_by_test_id("order-steps").locator("li")).to_have_count(3)
    expect(boss.get_by_test_id("order-steps")).to_contain_text(words["picked"])
    n += 1
    boss.screenshot(path=str(artifacts / f"{n:02d}-manager-sees-the-order.png"))
    checked["manager-order"] = axe(boss)

    page.locator("#nav-day").click()
    expect(page.locator("#h-day")).to_be_visible()
    step("my-day")

    bad = {name: found for name, found in checked.items() if found}
    assert not bad, f"axe found WCAG 2.1 A/AA violations: {bad}"
    assert not watch.errors and not boss_watch.errors, (watch.errors, boss_watch.errors)


def test_every_target_is_44_px_and_the_keyboard_reaches_it(
        browser: Browser, contexts: list[BrowserContext], server: str, settings: Settings,
        db: psycopg.Connection[Any]) -> None:
    shop = seed_shop(db, settings)
    page, watch = tablet(browser, contexts, (1024, 768), server, "zh-CN")
    page.locator("#username").focus()
    page.keyboard.type(shop.assistant[0])
    page.keyboard.press("Tab")
    page.keyboard.type(shop.assistant[1])
    page.keyboard.press("Enter")
    expect(page.locator("#find")).to_be_visible()
    page.locator("#member-code").focus()
    page.keyboard.type("C-500000001")
    page.keyboard.press("Enter")
    expect(page.locator("#c-name")).to_have_text("林女士")
    small = page.evaluate("""() => [...document.querySelectorAll('button, select, input, a')]
        .filter((e) => e.offsetParent !== null)
        // a radio button's target is its whole label
        .map((e) => [e.id || e.textContent.trim() || e.outerHTML,
                     (e.type === 'radio' ? e.closest('label') : e).getBoundingClientRect()])
        .filter(([, r]) => r.width < 44 || r.height < 44).map(([n]) => n)""")
    assert small == []
    assert not watch.errors


def test_the_tablet_is_installable_and_opens_offline(
        browser: Browser, contexts: list[BrowserContext], server: str) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{server}/kiosk/assist.html")
    manifest = requests.get(f"{server}/kiosk/assist.webmanifest", timeout=10)
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["display"] == "standalone"
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker, which keeps the shell
    page.wait_for_function("!!navigator.serviceWorker.controller")
    context.set_offline(True)
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("h1")).to_have_text("导购助手")
