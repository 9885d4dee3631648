// The shop assistant's tablet (导购助手): sign in, find the customer (member QR or phone; their
// consent asked on the spot), the customer screen from one call, search and recommendations,
// discounts within the budget or approved by the manager, the order and its steps, the day,
// and the manager's approval queue. Simplified Chinese first, English second.
import "./assist.css";
import { ApiError, request } from "./api.js";
import { STRINGS } from "./assist/strings.js";
import { canScan, scanInto, skuOf } from "./assist/scan.js";

const TOKEN_KEY = "homeloop.assist.token";
const SESSION_KEY = "homeloop.assist.session";
const LANG_KEY = "homeloop.assist.lang";
const params = new URLSearchParams(location.search);
// The tablet signs out after this long without a touch or a key (?idle= seconds, for tests).
const IDLE_MS = (Number(params.get("idle")) || 300) * 1000;
const ZONE = "Asia/Shanghai";

const $ = (id) => document.getElementById(id);
let lang = params.get("lang") || localStorage.getItem(LANG_KEY) || "zh-CN";
if (!STRINGS[lang]) lang = lang.startsWith("zh") ? "zh-CN" : "en";

const state = {
  session: JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null"),
  view: "signin",
  customerId: null,
  overview: null,
  cart: [], // {sku, name, name_zh, price_cents, discount: {id, status, amount_cents}|null}
  search: null,
  consentRequest: null,
  order: null,
  slots: [],
  installers: [],
  day: null,
  queue: null,
  discountFor: null, // the cart line the dialog is about
  quote: null,
};

function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
}
const zh = () => lang === "zh-CN";
const money = (cents) => new Intl.NumberFormat(lang, {
  style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol", maximumFractionDigits: 2,
}).format(cents / 100);
const when = (iso, opts = { dateStyle: "medium", timeStyle: "short" }) =>
  new Intl.DateTimeFormat(lang, { ...opts, timeZone: ZONE }).format(new Date(iso));
const day = (iso) => when(iso, { dateStyle: "medium" });
const nameOf = (x) => (zh() ? x.name_zh || x.name : x.name || x.name_zh);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function say(text) { $("status").textContent = text; }
function fail(error) {
  if (error instanceof ApiError && error.status === 401) return signOut(false);
  say(t("error", { msg: error.message }));
}

async function api(method, path, json) {
  return (await request(method, path, json, sessionStorage.getItem(TOKEN_KEY))).data;
}

// ---- language ----
function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = t("page_title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  $("lang").textContent = t("lang_switch");
  $("lang").lang = zh() ? "en" : "zh-CN";
  renderWho();
}
$("lang").addEventListener("click", () => {
  lang = zh() ? "en" : "zh-CN";
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
  render();
});

// ---- views ----
const VIEWS = ["signin", "find", "customer", "order", "day", "approvals"];
function show(view) {
  state.view = view;
  for (const v of VIEWS) $(v).hidden = v !== view;
  for (const [id, v] of [["nav-find", "find"], ["nav-day", "day"], ["nav-approvals", "approvals"]]) {
    if (view === v) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
}
function render() {
  if (state.view === "customer") renderCustomer();
  if (state.view === "order") renderOrder();
  if (state.view === "day") renderDay();
  if (state.view === "approvals") renderApprovals();
  if (state.view === "find") renderConsent();
  renderFacets();
}

// ---- signing in, and out when idle ----
function renderWho() {
  const s = state.session;
  $("who").textContent = s ? t("signed_in_as", { user: s.username, store: (zh() ? s.store_name_zh : s.store_name) || s.store_id || "" }) : "";
  $("nav").hidden = !s;
  $("nav-approvals").hidden = !(s && (s.role === "store_manager" || s.role === "admin"));
}
$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { data } = await request("POST", "/v1/auth/staff",
      { username: $("username").value.trim(), password: $("password").value }, null);
    sessionStorage.setItem(TOKEN_KEY, data.access_token);
    state.session = { username: $("username").value.trim(), role: data.role, store_id: data.store_id,
      store_name: data.store_name, store_name_zh: data.store_name_zh };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
    $("password").value = "";
    say("");
    renderWho();
    touched();
    if (data.role === "store_manager") openApprovals(); else openFind();
  } catch (error) {
    say(t("signin_failed", { msg: error.message }));
  }
});
function signOut(idle) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  Object.assign(state, { session: null, customerId: null, overview: null, cart: [], order: null,
                         consentRequest: null, day: null, queue: null });
  stopScanners();
  renderWho();
  show("signin");
  say(idle ? t("idle_out") : "");
  $("username").focus();
}
$("sign-out").addEventListener("click", () => signOut(false));
let idleTimer = null;
function touched() {
  clearTimeout(idleTimer);
  if (state.session) idleTimer = setTimeout(() => signOut(true), IDLE_MS);
}
for (const type of ["pointerdown", "keydown", "wheel"]) document.addEventListener(type, touched, { passive: true });

$("nav-find").addEventListener("click", () => openFind());
$("nav-day").addEventListener("click", () => openDay());
$("nav-approvals").addEventListener("click", () => openApprovals());

// ---- finding the customer ----
const stoppers = [];
function stopScanners() {
  while (stoppers.length) stoppers.pop()();
  $("member-video").hidden = true;
  $("product-video").hidden = true;
}
function openFind() {
  stopScanners();
  show("find");
  $("refused").hidden = true;
  renderConsent();
  $("member-code").focus();
}
async function startScan(video, onCode) {
  if (!canScan()) { $("scan-note").hidden = false; return; }
  try {
    video.hidden = false;
    stoppers.push(await scanInto(video, (code) => { video.hidden = true; onCode(code); }));
  } catch {
    video.hidden = true;
    $("scan-note").hidden = false;
  }
}
$("scan-member").addEventListener("click", () => startScan($("member-video"), (code) => {
  $("member-code").value = code;
  lookup("member_card", code);
}));
$("by-code").addEventListener("submit", (e) => { e.preventDefault(); lookup("member_card", $("member-code").value.trim()); });
$("by-phone").addEventListener("submit", (e) => { e.preventDefault(); lookup("phone", $("phone").value.trim()); });

let lastAsked = null;
async function lookup(kind, value) {
  lastAsked = { kind, value };
  $("refused").hidden = true;
  state.consentRequest = null;
  renderConsent();
  try {
    const found = await api("POST", "/v1/staff/customers/lookup", { kind, value });
    await openCustomer(found.customer_id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      $("refused").hidden = false;
      say("");
      $("ask-consent").focus();
    } else fail(error);
  }
}
$("ask-consent").addEventListener("click", async () => {
  try {
    state.consentRequest = await api("POST", "/v1/staff/consent-requests", lastAsked);
    $("refused").hidden = true;
    renderConsent();
    pollConsent();
  } catch (error) { fail(error); }
});
$("check-consent").addEventListener("click", () => checkConsent());
let consentTimer = null;
function pollConsent() {
  clearTimeout(consentTimer);
  consentTimer = setTimeout(async () => {
    if (await checkConsent()) return;
    if (state.consentRequest?.status === "pending" && state.view === "find") pollConsent();
  }, 1500);
}
async function checkConsent() {
  const asked = state.consentRequest;
  if (!asked) return false;
  try {
    state.consentRequest = await api("GET", `/v1/staff/consent-requests/${asked.id}`);
  } catch (error) { fail(error); return false; }
  renderConsent();
  if (state.consentRequest.status === "granted") {
    await openCustomer(state.consentRequest.customer_id);
    state.consentRequest = null;
    return true;
  }
  return false;
}
function renderConsent() {
  const asked = state.consentRequest;
  $("asking").hidden = !asked;
  if (!asked) return;
  const box = $("asking");
  box.classList.toggle("ok", asked.status === "granted");
  $("asking-text").textContent = {
    pending: t("asking", { time: when(asked.expires_at, { timeStyle: "short" }) }),
    granted: t("consent_granted"), declined: t("consent_declined"), expired: t("consent_expired"),
  }[asked.status];
}

// ---- the customer screen: one call ----
async function openCustomer(customerId) {
  stopScanners();
  if (state.customerId !== customerId) {
    state.cart = [];
    state.search = null;
  }
  state.customerId = customerId;
  say(t("loading"));
  const started = performance.now();
  try {
    state.overview = await api("GET", `/v1/staff/customers/${customerId}/overview`);
  } catch (error) { fail(error); return; }
  show("customer");
  renderCustomer();
  say(t("loaded_ms", { ms: Math.round(performance.now() - started) }));
  document.body.dataset.customerShown = String(customerId); // the bench's and tests' signal
  if (!state.search) runSearch();
  $("c-name")?.focus();
}

const DIMENSION_OF = {
  new_home: "demographic", birthday_month: "demographic",
  big_spender: "consumption", discount_sensitive: "consumption", repeat_buyer: "consumption", lapsed: "consumption",
  smart_home: "membership", maintenance_due: "membership",
};
function tagName(tag) {
  if (tag.startsWith("browsing:")) return t("tag_browsing", { what: tag.slice(9) });
  const key = `tag_${tag}`;
  return STRINGS[lang][key] ? t(key) : tag; // a manual tag as the assistant typed it
}
// A coded value (tier, channel, city, style) in the tablet's language; English city names are
// the data's own; anything else as it was typed.
function valueName(kind, value) {
  if (value === null || value === undefined || value === "") return value;
  const key = `${kind}_${String(value).toLowerCase()}`;
  return STRINGS[lang][key] ? t(key) : String(value);
}
const dimensionOf = (tag) => DIMENSION_OF[tag.tag] || (tag.tag.startsWith("browsing:") ? "behaviour" : "membership");
const TILE_COLOURS = ["#13294b", "#0b5cad", "#1d6b2f", "#8a5300", "#6b2a83", "#9b1c31", "#3d5a6c"];
function tile(category, label) {
  let h = 0;
  for (const ch of category || "?") h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return el("span", { class: "tile", style: `background:${TILE_COLOURS[h % TILE_COLOURS.length]}`, "aria-hidden": "true" },
    (label || category || "?").slice(0, 1).toUpperCase());
}
function factList(pairs) {
  return el("ul", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => el("li", {}, `${k}: ${v}`)));
}
function planSketch(plan) {
  const xs = plan.walls.flatMap((w) => [w[0], w[2]]);
  const ys = plan.walls.flatMap((w) => [w[1], w[3]]);
  const minX = Math.min(...xs), minY = Math.min(...ys);
  const w = Math.max(...xs) - minX || 1, h = Math.max(...ys) - minY || 1;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "plan");
  svg.setAttribute("viewBox", `${minX - 0.3} ${minY - 0.3} ${w + 0.6} ${h + 0.6}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("plan_alt", { name: plan.name, area: plan.area_m2.toFixed(0) }));
  for (const [x1, y1, x2, y2] of plan.walls) {
    const line = document.createElementNS(ns, "line");
    // plans are y-up; the screen is y-down
    Object.entries({ x1, y1: minY + h - (y1 - minY), x2, y2: minY + h - (y2 - minY) })
      .forEach(([k, v]) => line.setAttribute(k, v));
    svg.append(line);
  }
  return svg;
}
function productState(p) {
  const item = zh() ? p.item_name_zh || p.item_name : p.item_name || p.item_name_zh;
  if (!item || p.days_left === null || p.days_left === undefined) return p.next_item ? item || "" : "";
  const days = Math.max(0, Math.round(p.days_left));
  if (p.left_fraction !== null && p.left_fraction !== undefined) {
    return t("state_left", { item, pct: Math.round(100 * p.left_fraction), days });
  }
  return t("state_days", { item, days });
}
// Where and when (the recommendation's tier: here, a nearby store, online), in the tablet's
// language; the API's sentence says the same in English.
function availability(rec) {
  if (rec.tier === 0) return t("avail_here");
  if (rec.tier === 1) return t("avail_nearby", { store: (zh() ? rec.store_name_zh : rec.store_name) || rec.store_id, days: rec.days });
  return rec.days > 0 ? t("avail_online", { days: rec.days }) : t("stock_online");
}

function renderCustomer() {
  const o = state.overview;
  if (!o) return;
  const p = o.profile;
  const m = p.membership;
  const about = $("about");
  about.replaceChildren();
  $("audited").hidden = !o.audited;
  about.append(el("section", { class: "card", "aria-labelledby": "c-name" },
    el("h2", { id: "c-name", tabindex: "-1" }, p.name),
    el("p", { class: "sub" }, [m.tier ? `${t("tier")}: ${valueName("tier", m.tier)}` : null, t("member_since", { date: day(m.member_since) })]
      .filter(Boolean).join(" · ")),
    el("p", {}, el("strong", {}, `${t("points")}: `), el("span", { "data-testid": "points" }, String(m.points ?? 0))),
    el("h3", {}, t("coupons")),
    o.coupons.length
      ? el("ul", { class: "plain" }, o.coupons.map((c) => el("li", {}, `${nameOf(c)} · ${money(c.amount_cents)} (${c.kind === "gift" ? "🎁" : "−"})`)))
      : el("p", { class: "sub" }, t("no_coupons"))));

  const groups = { demographic: [], consumption: [], membership: [], behaviour: [] };
  for (const tag of p.tags) groups[dimensionOf(tag)].push(tag);
  const c = p.consumption, b = p.behaviour, d = p.demographic;
  const list = (xs) => (Array.isArray(xs) && xs.length ? xs.map((x) => (typeof x === "object" ? x.category ?? JSON.stringify(x) : x)).join("、") : null);
  const facts = {
    demographic: [["f_age", d.age_band], ["f_city", valueName("city", d.city)], ["f_household", d.household], ["f_birthday", d.birthday ? day(d.birthday) : null]],
    consumption: [["f_orders", c.orders], ["f_aov", c.average_order_cents != null ? money(c.average_order_cents) : null],
                  ["f_categories", list(c.categories)], ["f_styles", list((c.styles || []).map((x) => valueName("style", x)))],
                  ["f_discount_share", c.discount_share != null ? `${Math.round(100 * c.discount_share)}%` : null]],
    membership: [["f_coupons", m.coupons], ["f_channels", list((m.channels || []).map((x) => valueName("ch", x)))], ["f_push", m.push_devices]],
    behaviour: [["f_views", b.views_30d], ["f_searches", b.searches_30d], ["f_searched", list(b.searched)],
                ["f_designs", b.kiosk_designs], ["f_offers", b.offers_opened],
                ["f_cart", b.cart?.items?.length || null]],
  };
  about.append(el("section", { class: "card", "aria-labelledby": "h-dims" },
    el("h2", { id: "h-dims" }, t("dims")),
    el("div", { class: "dims" }, Object.entries(groups).map(([dim, tags]) => el("div", { class: "dim", "data-dimension": dim },
      el("h3", {}, t(`dim_${dim}`)),
      tags.length ? tags.map((tag) => el("span", { class: "chip", title: tag.reason || "", "data-tag": tag.tag }, tagName(tag.tag))) : el("span", { class: "sub" }, t("no_tags")),
      factList(facts[dim].map(([k, v]) => [t(k), v])))))));

  const h = p.home;
  about.append(el("section", { class: "card", "aria-labelledby": "h-home" },
    el("h2", { id: "h-home" }, t("home")),
    el("div", { class: "home" },
      o.plan ? planSketch(o.plan) : el("p", { class: "sub" }, t("no_plan")),
      el("ul", { class: "facts" },
        h.rough_in_mm ? el("li", {}, t("rough_in", { mm: h.rough_in_mm })) : null,
        h.home_style ? el("li", {}, t("style", { s: valueName("style", h.home_style) })) : null,
        h.budget_cents ? el("li", {}, t("budget", { money: money(h.budget_cents) })) : null,
        h.move_in_date ? el("li", {}, t("move_in", { date: day(h.move_in_date) })) : null))));

  about.append(el("section", { class: "card", "aria-labelledby": "h-owned" },
    el("h2", { id: "h-owned" }, t("owned")),
    p.products.length ? el("ul", { class: "plain" }, p.products.map((x) => el("li", { class: "item" },
      tile(x.category, x.name), el("div", {}, el("div", {}, x.name), el("div", { class: "sub", "data-testid": "product-state" }, productState(x))), el("span")))) :
      el("p", { class: "sub" }, t("no_owned"))));

  about.append(el("section", { class: "card", "aria-labelledby": "h-trail" },
    el("h2", { id: "h-trail" }, t("trail")),
    o.trail.length ? el("ol", { class: "plain", id: "trail" }, o.trail.map((x) => el("li", { class: "item" },
      tile(x.category, nameOf(x)),
      el("div", {}, el("div", {}, nameOf(x)), el("div", { class: "sub" }, `${when(x.at, { timeStyle: "short" })} · ${t("views", { n: x.views })}`)),
      el("div", { class: "actions" }, el("span", { class: "price" }, money(x.price_cents)),
        el("button", { type: "button", "aria-label": t("add_named", { name: nameOf(x) }), onclick: () => addToCart(x) }, t("add"))))))
      : el("p", { class: "sub" }, t("no_trail"))));

  about.append(el("section", { class: "card", "aria-labelledby": "h-designs" },
    el("h2", { id: "h-designs" }, t("designs")),
    o.designs.length ? el("ul", { class: "plain" }, o.designs.map((d) => el("li", {},
      el("a", { href: `index.html?design=${encodeURIComponent(d.id)}&lang=${lang}`, class: "link44" },
        t("design_item", { name: d.name, n: d.items, v: d.version })))))
      : el("p", { class: "sub" }, t("no_designs"))));

  $("recs").replaceChildren(...(o.recommendations.length ? o.recommendations.map((r) => el("li", { class: "item" },
    tile(r.sku, nameOf(r)),
    el("div", {}, el("div", {}, nameOf(r)), el("div", { class: "sub" }, availability(r)), el("div", { class: "sub" }, r.reason)),
    el("div", { class: "actions" }, el("button", { type: "button", "aria-label": t("add_named", { name: nameOf(r) }), onclick: () => addBySku(r.sku) }, t("add")))))
    : [el("li", { class: "sub" }, t("no_recs"))]));
  renderCart();
  renderResults();
}

// ---- search, scanning a product, the cart ----
function renderFacets() {
  const facets = state.search?.facets || {};
  const cat = $("f-category"), stock = $("f-stock");
  const keepCat = cat.value, keepStock = stock.value;
  cat.replaceChildren(el("option", { value: "" }, t("any")),
    ...Object.entries(facets.category || {}).map(([v, n]) => el("option", { value: v }, `${v} (${n})`)));
  if (keepCat && !facets.category?.[keepCat]) cat.append(el("option", { value: keepCat }, keepCat));
  cat.value = keepCat;
  stock.replaceChildren(...[["", t("any")], ["here", t("stock_here")], ["nearby", t("stock_nearby")], ["online", t("stock_online")]]
    .map(([v, label]) => el("option", { value: v }, label)));
  stock.value = keepStock;
}
async function runSearch() {
  const query = new URLSearchParams({ q: $("q").value.trim(), limit: "12" });
  if ($("f-category").value) query.set("category", $("f-category").value);
  if ($("f-stock").value) query.set("stock", $("f-stock").value);
  if (state.session?.store_id) query.set("store_id", state.session.store_id);
  try {
    state.search = await api("GET", `/v1/search?${query}`);
  } catch (error) { fail(error); return; }
  renderFacets();
  renderResults();
}
function renderResults() {
  const found = state.search;
  if (!found) return;
  $("results-count").textContent = t("results", { n: found.total });
  $("results").replaceChildren(...found.items.map((x) => el("li", { class: "item" },
    tile(x.category, nameOf(x)),
    el("div", {}, el("div", {}, nameOf(x)), el("div", { class: "sub" }, x.sku)),
    el("div", { class: "actions" }, el("span", { class: "price" }, money(x.price_cents)),
      el("button", { type: "button", "aria-label": t("add_named", { name: nameOf(x) }), onclick: () => addToCart(x) }, t("add"))))));
}
$("search").addEventListener("submit", (e) => { e.preventDefault(); runSearch(); });
$("f-category").addEventListener("change", runSearch);
$("f-stock").addEventListener("change", runSearch);
$("scan-product").addEventListener("click", () => startScan($("product-video"), (code) => addBySku(skuOf(code))));
$("by-product").addEventListener("submit", (e) => { e.preventDefault(); addBySku(skuOf($("product-code").value)); $("product-code").value = ""; });
async function addBySku(sku) {
  try {
    const item = await api("GET", `/v1/skus/${encodeURIComponent(sku)}`);
    addToCart({ sku: item.sku, name: item.name, name_zh: item.name_zh, price_cents: item.price_cents });
  } catch (error) { fail(error); }
}
function addToCart(x) {
  if (!state.cart.some((line) => line.sku === x.sku)) {
    state.cart.push({ sku: x.sku, name: x.name, name_zh: x.name_zh, price_cents: x.price_cents, discount: null });
  }
  renderCart();
  say(`${t("cart")}: ${nameOf(x)}`);
}
function renderCart() {
  $("cart").replaceChildren(...(state.cart.length ? state.cart.map((line, i) => el("li", { class: "item", "data-sku": line.sku },
    tile(line.sku, nameOf(line)),
    el("div", {}, el("div", {}, nameOf(line)),
      el("div", { class: "sub" }, [line.price_cents != null ? money(line.price_cents) : null,
        line.discount ? `${t("with_discount", { amount: money(line.discount.amount_cents) })} · ${discountWord(line.discount)}` : null].filter(Boolean).join(" · "))),
    el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": t("discount_named", { name: nameOf(line) }), onclick: () => openDiscount(i) }, t("discount")),
      el("button", { type: "button", "aria-label": t("remove_named", { name: nameOf(line) }), onclick: () => { state.cart.splice(i, 1); renderCart(); } }, t("remove")))))
    : [el("li", { class: "sub" }, t("cart_empty"))]));
  $("place-order").disabled = !state.cart.length || state.cart.some((l) => l.discount?.status === "pending_approval");
}
function discountWord(d) {
  return { granted: "✓", approved: "✓", pending_approval: "…", rejected: "✗" }[d.status] || "";
}

// ---- discounts ----
function openDiscount(index) {
  state.discountFor = index;
  state.quote = null;
  const line = state.cart[index];
  $("h-discount").textContent = t("discount_named", { name: nameOf(line) });
  $("discount-amount").value = "";
  $("discount-effect").replaceChildren();
  $("discount-grant").hidden = true;
  $("discount-dialog").showModal();
  $("discount-amount").focus();
}
$("discount-close").addEventListener("click", () => $("discount-dialog").close());
$("discount-preview").addEventListener("click", () => discount(true));
$("discount-grant").addEventListener("click", () => discount(false));
$("discount-form").addEventListener("submit", (e) => { e.preventDefault(); discount(true); });
async function discount(dryRun) {
  const line = state.cart[state.discountFor];
  const amount = Math.round(Number($("discount-amount").value) * 100);
  if (!line || !(amount > 0)) return;
  try {
    const q = await api("POST", "/v1/staff/discounts",
      { customer_id: state.customerId, sku: line.sku, amount_cents: amount, dry_run: dryRun });
    if (dryRun) {
      state.quote = q;
      line.price_cents ??= q.price_cents;
      renderQuote(q);
      return;
    }
    line.discount = { id: q.id, status: q.status, amount_cents: q.amount_cents };
    $("discount-dialog").close();
    renderCart();
    say(q.status === "granted" ? t("discount_granted", { amount: money(q.amount_cents) })
      : t("discount_pending", { amount: money(q.amount_cents) }));
    if (q.status === "pending_approval") pollDiscount(line);
  } catch (error) { fail(error); }
}
function renderQuote(q) {
  $("discount-effect").replaceChildren(
    el("p", {}, t("margin", { before: money(q.margin_before_cents), after: money(q.margin_after_cents), rate: (100 * q.margin_rate_after).toFixed(1) })),
    el("p", {}, t("commission", { before: money(q.commission_before_cents), after: money(q.commission_after_cents) })),
    el("p", {}, t("budget_left", { left: money(q.budget_left_cents), total: money(q.budget_cents) })),
    q.needs_approval ? el("p", { class: "bad", "data-testid": "over-budget" }, t("over_budget")) : null);
  const grant = $("discount-grant");
  grant.hidden = false;
  grant.textContent = q.needs_approval ? t("ask_manager") : t("grant");
}
function pollDiscount(line) {
  setTimeout(async () => {
    if (!state.cart.includes(line) || !state.session) return;
    try {
      const d = await api("GET", `/v1/staff/discounts/${line.discount.id}`);
      line.discount.status = d.status;
    } catch (error) { fail(error); return; }
    if (line.discount.status === "pending_approval") { pollDiscount(line); return; }
    renderCart();
    say(line.discount.status === "approved" ? t("discount_approved", { amount: money(line.discount.amount_cents) })
      : t("discount_rejected"));
    if (line.discount.status === "rejected") { line.discount = null; renderCart(); }
  }, 1500);
}

// ---- the order ----
$("place-order").addEventListener("click", async () => {
  const fulfilment = document.querySelector("input[name=fulfilment]:checked").value;
  const lines = state.cart.map((l) => ({ sku: l.sku, quantity: 1,
    ...(l.discount && ["granted", "approved"].includes(l.discount.status) ? { discount_id: l.discount.id } : {}) }));
  try {
    const order = await api("POST", "/v1/staff/orders", { customer_id: state.customerId, lines, fulfilment });
    state.cart = [];
    say(t("order_placed", { id: order.id }));
    await openOrder(order.id, order);
  } catch (error) { fail(error); }
});
$("open-order-form").addEventListener("submit", (e) => { e.preventDefault(); openOrder(Number($("open-order-id").value)); });
const NEXT = {
  delivery: { placed: ["picked", "cancelled"], picked: ["shipped", "cancelled"], shipped: ["out_for_delivery"],
              out_for_delivery: ["delivered"], delivered: ["installation_booked", "closed"],
              installation_booked: ["installed"], installed: ["closed"] },
  pickup: { placed: ["picked", "cancelled"], picked: ["delivered", "cancelled"], delivered: ["closed"] },
  visit: { placed: ["installation_booked", "cancelled"], installation_booked: ["installed", "cancelled"], installed: ["closed"] },
};
async function openOrder(id, known) {
  try {
    state.order = known || await api("GET", `/v1/orders/${id}`);
    state.slots = state.order.needs_slot && !state.order.slot_starts_at
      ? await api("GET", `/v1/orders/${id}/delivery-slots`) : [];
    if ((NEXT[state.order.fulfilment]?.[state.order.status] || []).includes("installation_booked") && !state.installers.length) {
      state.installers = await api("GET", "/v1/staff/installers");
    }
  } catch (error) { fail(error); return; }
  stopScanners();
  show("order");
  renderOrder();
  $("h-order").focus();
}
const slotText = (a, b) => `${when(a, { dateStyle: "medium", timeStyle: "short" })}–${when(b, { timeStyle: "short" })}`;
function renderOrder() {
  const o = state.order;
  if (!o) return;
  const next = NEXT[o.fulfilment]?.[o.status] || [];
  const box = $("order");
  box.replaceChildren(
    el("h2", { id: "h-order", tabindex: "-1" }, `${t("order", { id: o.id })} · ${t(`st_${o.status}`)}`),
    el("p", { class: "sub" }, `${t(o.fulfilment === "pickup" ? "f_pickup" : "f_delivery")} · ${o.fulfil_store_id}`),
    el("table", {},
      el("tbody", {}, o.lines.map((l) => el("tr", {}, el("td", {}, l.name), el("td", { class: "num" }, `× ${l.quantity}`),
        el("td", { class: "num" }, money(l.unit_price_cents * l.quantity)),
        el("td", { class: "num" }, l.discount_cents ? `−${money(l.discount_cents)}` : "")))),
      el("tfoot", {}, el("tr", {}, el("th", {}, t("total")), el("td"), el("td", { class: "num", "data-testid": "order-total" }, money(o.total_cents)), el("td")))),
    el("h3", {}, t("steps")),
    el("ol", { class: "steps", "data-testid": "order-steps" }, o.events.map((e) => el("li", { "data-status": e.data?.slot_starts_at ? "slot" : e.status },
      `${e.data?.slot_starts_at ? t("slot_booked", { slot: slotText(e.data.slot_starts_at, e.data.slot_ends_at) }) : t(`st_${e.status}`)} · ${when(e.at)}`))),
    o.slot_starts_at ? el("p", { class: "ok" }, t("slot_booked", { slot: slotText(o.slot_starts_at, o.slot_ends_at) })) : null);
  if (state.slots.length) {
    const select = el("select", { id: "slot" }, state.slots.map((s) => el("option", { value: s.starts_at }, `${slotText(s.starts_at, s.ends_at)} (${s.free})`)));
    box.append(el("form", { class: "row", onsubmit: (e) => { e.preventDefault(); bookSlot(select.value); } },
      el("label", {}, el("span", {}, t("choose_slot")), select),
      el("button", { type: "submit", class: "primary" }, t("book_slot"))));
  }
  if (next.length) {
    const extra = [];
    if (next.includes("installation_booked") && state.installers.length) {
      extra.push(el("label", {}, el("span", {}, t("installer")), el("select", { id: "installer" },
        state.installers.map((i) => el("option", { value: i.id }, `${i.name} · ${i.company} (${i.score.toFixed(1)})`)))));
      const tomorrow = new Date(Date.now() + 86400000);
      tomorrow.setUTCHours(2, 0, 0, 0);
      extra.push(el("label", {}, el("span", {}, t("install_at")),
        el("input", { id: "install-at", type: "datetime-local", value: tomorrow.toISOString().slice(0, 16) })));
    }
    box.append(el("div", { class: "row" }, el("span", {}, t("next_step")), ...extra,
      ...next.map((s) => el("button", { type: "button", class: s === "cancelled" ? "" : "primary", "data-step": s, onclick: () => step(s) }, t(`do_${s}`)))));
  }
  if (state.customerId && o.customer_id === state.customerId) {
    box.append(el("p", {}, el("button", { type: "button", onclick: () => openCustomer(state.customerId) }, t("back_to_customer"))));
  }
}
// The answer of a change is the state to show (a read right after it might not see it yet:
// the API commits as the answer leaves).
async function bookSlot(startsAt) {
  try {
    await openOrder(state.order.id, await api("PUT", `/v1/orders/${state.order.id}/delivery-slot`, { starts_at: startsAt }));
  } catch (error) { fail(error); }
}
async function step(status) {
  const body = { status };
  if (status === "installation_booked") {
    body.installer_id = Number($("installer")?.value);
    body.install_at = new Date(`${$("install-at").value}:00Z`).toISOString();
  }
  try {
    await openOrder(state.order.id, await api("POST", `/v1/staff/orders/${state.order.id}/steps`, body));
  } catch (error) { fail(error); }
}

// ---- the assistant's day ----
async function openDay() {
  stopScanners();
  try {
    state.day = await api("GET", "/v1/staff/day");
  } catch (error) { fail(error); return; }
  show("day");
  say("");
  renderDay();
}
const TASK_GROUPS = [["offer_follow_up", "followups"], ["low_rating", "low_ratings"], ["maintenance_due", "maintenance"], ["quality_call", "quality"]];
function renderDay() {
  const d = state.day;
  if (!d) return;
  const box = $("day");
  box.replaceChildren(el("h2", { id: "h-day", tabindex: "-1" }, t("day_title")));
  const known = new Set(TASK_GROUPS.map(([k]) => k));
  const groups = [...TASK_GROUPS, ["other", "tasks"]];
  for (const [kind, label] of groups) {
    const tasks = d.tasks.filter((x) => (kind === "other" ? !known.has(x.kind) : x.kind === kind));
    if (kind === "other" && !tasks.length) continue;
    box.append(el("h3", {}, `${t(label)} (${tasks.length})`),
      tasks.length ? el("ul", { class: "plain", "data-kind": kind }, tasks.map((x) => el("li", { class: "item" },
        tile(x.kind, x.customer),
        el("div", {}, el("div", {}, `${x.customer} · ${x.body}`), el("div", { class: "sub" }, when(x.due_at))),
        el("div", { class: "actions" },
          el("button", { type: "button", "aria-label": t("open_customer", { name: x.customer }), onclick: () => openCustomer(x.customer_id) }, x.customer),
          el("button", { type: "button", "aria-label": t("done_named", { what: x.body }), onclick: () => taskDone(x.id) }, t("done"))))))
        : el("p", { class: "sub" }, t("nothing")));
  }
  box.append(el("h3", {}, `${t("my_customers")} (${d.customers.length})`),
    d.customers.length ? el("ul", { class: "plain" }, d.customers.map((c) => el("li", { class: "item" },
      tile(String(c.display_name), c.display_name), el("div", {}, el("div", {}, c.display_name),
        el("div", { class: "sub" }, t("views_today", { n: c.views_today ?? 0 }))),
      el("button", { type: "button", "aria-label": t("open_customer", { name: c.display_name }), onclick: () => openCustomer(c.customer_id) }, t("nav_find")))))
      : el("p", { class: "sub" }, t("nothing")),
    el("h3", {}, `${t("news")} (${d.inbox.length})`),
    d.inbox.length ? el("ul", { class: "plain" }, d.inbox.map((n) => el("li", { class: "item" },
      tile("order", "#"), el("div", {}, el("div", {}, n.body), el("div", { class: "sub" }, when(n.at))),
      el("button", { type: "button", "aria-label": `${t("order", { id: n.order_id })}`, onclick: () => readNews(n) }, t("order", { id: n.order_id })))))
      : el("p", { class: "sub" }, t("nothing")));
}
async function taskDone(id) {
  try {
    await api("POST", `/v1/staff/tasks/${id}/done`);
    state.day.tasks = state.day.tasks.filter((x) => x.id !== id);
    renderDay();
  } catch (error) { fail(error); }
}
async function readNews(n) {
  try { await api("POST", `/v1/staff/inbox/${n.id}/read`); await openOrder(n.order_id); } catch (error) { fail(error); }
}

// ---- the manager: approvals and budgets ----
async function openApprovals() {
  stopScanners();
  try {
    state.queue = await api("GET", "/v1/staff/discounts/pending");
  } catch (error) { fail(error); return; }
  show("approvals");
  say("");
  renderApprovals();
}
function renderApprovals() {
  const q = state.queue;
  if (!q) return;
  const box = $("approvals");
  box.replaceChildren(el("h2", { id: "h-approvals", tabindex: "-1" }, t("approvals")),
    q.pending.length ? el("ul", { class: "plain", "data-testid": "queue" }, q.pending.map((p) => {
      const vars = { who: p.assistant_name, name: nameOf(p), amount: money(p.amount_cents) };
      return el("li", { class: "item" }, tile(p.sku, nameOf(p)),
        el("div", {}, el("div", {}, `${nameOf(p)} · −${money(p.amount_cents)} / ${money(p.price_cents)}`),
          el("div", { class: "sub" }, `${p.assistant_name} · ${when(p.created_at)}`)),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "primary", "aria-label": t("approve_named", vars), onclick: () => decide(p.id, true) }, t("approve")),
          el("button", { type: "button", "aria-label": t("reject_named", vars), onclick: () => decide(p.id, false) }, t("reject"))));
    })) : el("p", { class: "sub" }, t("queue_empty")),
    el("h3", {}, t("budget_use")),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("assistant")), el("th", { scope: "col", class: "num" }, t("used")),
      el("th", { scope: "col", class: "num" }, t("pending")), el("th", { scope: "col", class: "num" }, t("of_budget")), el("th", { scope: "col" }, el("span", { class: "sr" }, t("budget_use"))))),
    el("tbody", {}, q.budgets.map((b) => el("tr", {}, el("td", {}, b.assistant_name), el("td", { class: "num" }, money(b.used_cents)),
      el("td", { class: "num" }, money(b.pending_cents)), el("td", { class: "num" }, money(b.budget_cents)),
      el("td", {}, el("div", { class: "bar", role: "img", "aria-label": `${money(b.used_cents + b.pending_cents)} / ${money(b.budget_cents)}` },
        el("span", { class: "used", style: `width:${Math.min(100, (100 * b.used_cents) / b.budget_cents)}%` }),
        el("span", { class: "pending", style: `width:${Math.max(0, Math.min(100 - (100 * b.used_cents) / b.budget_cents, (100 * b.pending_cents) / b.budget_cents))}%` }))))))));
}
async function decide(id, approve) {
  try {
    await api("POST", `/v1/staff/discounts/${id}/decision`, { approve });
    const decided = state.queue.pending.find((p) => p.id === id);
    const budget = state.queue.budgets.find((b) => b.assistant === decided?.assistant);
    if (budget) {
      budget.pending_cents -= decided.amount_cents;
      if (approve) budget.used_cents += decided.amount_cents;
    }
    state.queue.pending = state.queue.pending.filter((p) => p.id !== id);
    renderApprovals();
  } catch (error) { fail(error); }
}

// ---- start ----
applyLanguage();
renderFacets();
if (state.session && sessionStorage.getItem(TOKEN_KEY)) {
  touched();
  if (state.session.role === "store_manager") openApprovals(); else openFind();
} else {
  show("signin");
  $("username").focus();
}
if ("serviceWorker" in navigator && !params.has("no-sw")) {
  navigator.serviceWorker.register("assist-sw.js").catch(() => {});
}
