// The customer's home app: their products with usage and forecasts, offers, orders, coupons and
// points, designs, products seen in a store, privacy, and registering a product by its tag.
// It signs in with a Firebase ID token (#token=… from the Homeloop app; the local Auth emulator
// in the demo and tests), calls the API like any client and works offline for what it loaded
// (home-sw.js). Chinese first, English on the button.
import { t, lang, setLang, date, time, money, number, name as itemName } from "./home/strings.js";

const TOKEN_KEY = "homeloop.home.token"; // kept across visits: an installed app stays signed in
const SCREENS = ["home", "offers", "orders", "wallet", "designs", "viewed", "privacy", "register"];
const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, skus: new Map(), selected: null, range: "week", plot: null };
window.homeloopHome = { firstPaintMs: null };

// --- the API ---
class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, json) {
  const init = { method, headers: { Authorization: `Bearer ${state.token}`, "Accept-Language": lang } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (response.status === 401) signedOut(t("signin_again"));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
const get = (path) => api("GET", path);

async function sku(code) { // catalog names (cached for the visit)
  if (!state.skus.has(code)) {
    state.skus.set(code, fetch(`/v1/skus/${encodeURIComponent(code)}`)
      .then((r) => (r.ok ? r.json() : { sku: code, name: code, name_zh: code, in_stock_at: [], store_names: {} })));
  }
  return state.skus.get(code);
}

// --- small DOM helpers ---
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return el;
}
const say = (text) => { $("status").textContent = text; };
const empty = (text) => h("p", { class: "empty", text });
function section(id, title, ...children) {
  return h("section", { "aria-labelledby": `h-${id}`, class: "screen" }, h("h2", { id: `h-${id}`, text: title }), ...children);
}

// --- signing in and out ---
function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const given = hash.get("token");
  if (given) {
    localStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", `${location.pathname}${location.search}#home`);
  }
  return localStorage.getItem(TOKEN_KEY);
}

function signedOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  caches?.delete("homeloop-home-data"); // what the service worker kept of this customer
  $("nav").hidden = true;
  $("signout").hidden = true;
  $("main").replaceChildren(section("signin", t("signin_title"), h("p", { text: t("signin_text") })));
  say(message || "");
  document.body.dataset.state = "signed-out";
}

// --- the chrome: title, language, navigation ---
function chrome() {
  document.documentElement.lang = lang;
  document.title = t("app");
  $("app-title").textContent = t("nav_home");
  $("skip").textContent = t("skip");
  $("lang").textContent = t("lang_button");
  $("lang").lang = lang === "zh-CN" ? "en" : "zh-CN";
  $("signout").textContent = t("sign_out");
  const current = screen();
  $("nav").setAttribute("aria-label", t("nav"));
  $("nav").replaceChildren(h("ul", {}, SCREENS.map((s) => h("li", {},
    h("a", { href: `#${s}`, "aria-current": s === current ? "page" : null, text: t(`nav_${s}`) })))));
}

function currentInSight() { // on a phone the page's tab may be past the bar's edge
  $("nav").querySelector("[aria-current]")?.scrollIntoView({ block: "nearest", inline: "center" });
}

function screen() {
  const wanted = location.hash.slice(1);
  return SCREENS.includes(wanted) ? wanted : "home";
}

async function show() {
  if (!state.token) return signedOut();
  chrome();
  $("nav").hidden = false;
  $("signout").hidden = false;
  document.body.dataset.state = "loading";
  const which = screen();
  try {
    const content = await RENDER[which]();
    if (which !== screen()) return; // the customer moved on meanwhile
    $("main").replaceChildren(content);
    document.body.dataset.state = "ready";
    document.body.dataset.screen = which;
    currentInSight();
    if (which === "home") afterHome();
  } catch (err) {
    if (state.token) say(t("error", { msg: err.message }));
    document.body.dataset.state = "error";
  }
}

// --- My home: products, their state, usage and forecasts ---
function confidenceWords(c) {
  return t(c >= 0.6 ? "sure_high" : c >= 0.3 ? "sure_mid" : "sure_low");
}

function forecastLine(f) {
  const when = f.days_left === null ? null : new Date(Date.parse(f.computed_at) + f.days_left * 86400_000);
  const text = when === null ? t("no_end", { item: f.item_name })
    : t(f.kind === "service" ? "due" : "runs_out", { item: f.item_name, days: number(Math.max(0, f.days_left), 0), date: date(when) });
  return h("li", { class: "forecast" }, h("strong", { text }),
    h("span", { text: t("confidence", { words: confidenceWords(f.confidence) }) }),
    h("span", { class: "reason", text: f.reason }));
}

async function renderHome() {
  const [me, products] = await Promise.all([get("/v1/me"), get("/v1/me/products")]);
  // one just registered, though the API's answer came before its transaction was in
  if (state.claimed && !products.some((p) => p.id === state.claimed.id)) products.push(state.claimed);
  state.claimed = null;
  state.me = me;
  const infos = await Promise.all(products.map(async (p) => {
    const [item, forecasts, latest] = await Promise.all([
      sku(p.sku), get(`/v1/products/${p.id}/forecasts`).catch(() => ({ forecasts: [] })),
      get(`/v1/products/${p.id}/timeline?bucket=hour`).catch(() => ({ series: [] }))]);
    return { product: p, item, forecasts: forecasts.forecasts, latest };
  }));
  state.products = infos;
  if (!infos.some((i) => i.product.id === state.selected)) state.selected = infos[0]?.product.id ?? null;
  const cards = infos.map(({ product, item, forecasts, latest }) => {
    const last = lastReading(latest);
    const soonest = forecasts[0];
    const selected = product.id === state.selected;
    return h("li", { class: "card product", "data-product": product.id },
      h("h3", { text: itemName(item) }),
      h("p", { class: "muted", text: `${product.sku} · ${t("registered_on", { date: date(product.claimed_at) })}` }),
      h("p", { text: last ? t("last_reading", { value: last.text, time: time(last.at) }) : t("no_readings") }),
      soonest ? h("ul", { class: "forecasts" }, forecastLine(soonest)) : null,
      h("button", { type: "button", "aria-pressed": String(selected), onclick: () => select(product.id),
        text: `${selected ? t("shown") : t("show")}: ${itemName(item)}` }));
  });
  return section("home", t("hello", { name: me.display_name }),
    h("p", { class: "points", text: t("points", { n: number(me.points, 0) }) }),
    h("h2", { text: t("products") }),
    infos.length ? h("ul", { class: "cards", id: "products" }, cards) : empty(t("no_products")),
    infos.length ? h("div", { id: "detail", class: "card" }) : null);
}

function lastReading(timeline) {
  let best = null;
  for (const s of timeline.series || []) {
    const p = s.points.at(-1);
    if (!p) continue;
    const value = p.value ?? p.last ?? p.avg;
    if (value === null || value === undefined) continue;
    if (!best || p.t > best.at) {
      const unit = t(`unit_${s.unit}`);
      best = { at: p.t, text: `${t(`metric_${s.metric}`)} ${number(value)}${unit ? ` ${unit}` : ""}` };
    }
  }
  return best;
}

function select(productId) {
  state.selected = productId;
  for (const button of document.querySelectorAll("#products button[aria-pressed]")) {
    const id = Number(button.closest("[data-product]").dataset.product);
    const info = state.products.find((i) => i.product.id === id);
    button.setAttribute("aria-pressed", String(id === productId));
    button.textContent = `${id === productId ? t("shown") : t("show")}: ${itemName(info.item)}`;
  }
  renderDetail();
}

function afterHome() {
  if (window.homeloopHome.firstPaintMs === null) { // the first screen with the customer's products
    requestAnimationFrame(() => {
      window.homeloopHome.firstPaintMs = performance.now();
      performance.mark("home-first-paint");
      renderDetail();
    });
  } else renderDetail();
}

async function renderDetail() {
  const box = $("detail");
  const info = state.products?.find((i) => i.product.id === state.selected);
  if (!box || !info) return;
  const ranges = ["day", "week", "month"];
  const rangeButtons = h("div", { class: "row", role: "group", "aria-label": t("range") },
    ranges.map((r) => h("button", { type: "button", "aria-pressed": String(r === state.range), text: t(r),
      onclick: () => { state.range = r; renderDetail(); } })));
  const chartBox = h("div", { class: "chart", id: "chart" });
  const figure = h("figure", { class: "usage" }, chartBox, h("figcaption", { id: "chart-caption" }));
  box.replaceChildren(h("h3", { text: `${itemName(info.item)} · ${t("usage")}` }), rangeButtons, figure,
    h("h3", { text: t("forecasts") }),
    info.forecasts.length ? h("ul", { class: "forecasts" }, info.forecasts.map(forecastLine)) : empty(t("no_forecasts")));
  let draw, timeline;
  try {
    [{ draw }, timeline] = await Promise.all([
      import("./home/chart.js"), get(`/v1/products/${info.product.id}/timeline?${rangeQuery(state.range)}`)]);
  } catch (err) { // offline with nothing kept for this period
    if (chartBox.isConnected) $("chart-caption").textContent = t("error", { msg: err.message });
    return;
  }
  if (state.selected !== info.product.id || !chartBox.isConnected) return;
  const metric = info.forecasts.find((f) => f.metric)?.metric;
  const series = timeline.series.find((s) => s.metric === metric && s.points.length)
    || timeline.series.find((s) => s.points.length);
  const caption = $("chart-caption");
  if (!series) {
    caption.textContent = t("no_usage");
    document.body.dataset.chart = "empty";
    return;
  }
  const label = t("chart_label", { name: itemName(info.item), metric: t(`metric_${series.metric}`), range: t(state.range) });
  chartBox.setAttribute("role", "img");
  chartBox.setAttribute("aria-label", label);
  caption.textContent = label;
  // the canvas draws with the shipped font only once its parts for the axes' characters came
  await document.fonts.load('12px "Noto Sans SC Variable"', `${label}${t(`unit_${series.unit}`)}0123456789:/`);
  if (!chartBox.isConnected) return;
  state.plot?.destroy();
  state.plot = draw(chartBox, series);
  document.body.dataset.chart = "drawn";
}

// The timeline's query for a chart's range: a day or a week of hourly rollups, a month of daily.
function rangeQuery(range) {
  const spans = { day: ["hour", 1], week: ["hour", 7], month: ["day", 30] };
  const [bucket, days] = spans[range];
  const now = new Date();
  const from = new Date(now.getTime() - days * 86400_000);
  return `bucket=${bucket}&from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(now.toISOString())}`;
}

// --- Offers: accept (pickup, delivery or a visit), decline, "I still have some" ---
const OPEN_OFFER = new Set(["pending", "deferred", "sent", "opened", "snoozed"]);

async function renderOffers() {
  const offers = await get("/v1/me/offers");
  const cards = await Promise.all(offers.map(offerCard));
  return section("offers", t("offers"), offers.length ? h("ul", { class: "cards" }, cards) : empty(t("no_offers")));
}

async function offerCard(offer) {
  const items = await Promise.all(offer.item_skus.map(sku));
  const title = items.map(itemName).join("、") || t(`kind_${offer.kind}`);
  const card = h("li", { class: "card offer", "data-offer": offer.id },
    h("h3", { text: title }),
    h("p", { class: "muted", text: `${t(`kind_${offer.kind}`)} · ${t(`status_${offer.status}`)} · ${t("offer_due", { date: date(offer.due_at) })}` }),
    h("p", { text: offer.reason }));
  if (!OPEN_OFFER.has(offer.status)) return card;
  // stores that have every item now (for a pickup)
  const stores = items.map((i) => new Set(i.in_stock_at || [])).reduce((a, b) => new Set([...a].filter((s) => b.has(s))));
  const hows = offer.fulfilment === "visit" ? ["visit"] : ["delivery", ...(stores.size ? ["pickup"] : [])];
  const howId = `how-${offer.id}`;
  const storeId = `store-${offer.id}`;
  const how = h("select", { id: howId }, hows.map((x) => h("option", { value: x, text: t(x), selected: x === offer.fulfilment })));
  const named = Object.assign({}, ...items.map((i) => i.store_names || {})); // id -> its names
  const store = h("select", { id: storeId }, [...stores].map((s) => h("option", {
    value: s, text: named[s] ? itemName(named[s]) : s, selected: s === offer.store_id })));
  const storeLabel = h("label", { for: storeId, hidden: how.value !== "pickup" }, t("store"), " ", store);
  how.onchange = () => { storeLabel.hidden = how.value !== "pickup"; };
  const act = (path, body, done) => async () => {
    try {
      const answer = await api("POST", `/v1/me/offers/${offer.id}/${path}`, body);
      say(done(answer));
      if (path === "accept") { // on to the order, the message kept
        state.notice = done(answer);
        state.placed = answer.order_request.order_id;
        location.hash = "#orders";
      } else card.replaceWith(await offerCard(answer)); // the answer is the offer as it now is
    } catch (err) { say(t("error", { msg: err.message })); }
  };
  card.append(
    h("div", { class: "row" }, h("label", { for: howId }, t("how"), " ", how), storeLabel),
    h("div", { class: "row" },
      h("button", { type: "button", class: "primary", text: t("accept"),
        onclick: () => act("accept", { fulfilment: how.value, store_id: how.value === "pickup" ? store.value : undefined },
          (a) => t("accepted", { id: a.order_request.order_id ?? a.order_request.id }))() }),
      offer.status === "snoozed" ? null
        : h("button", { type: "button", text: t("snooze"), onclick: act("snooze", undefined, () => t("snoozed")) }),
      h("button", { type: "button", text: t("bought"), onclick: act("already-bought", undefined, () => t("bought_done")) }),
      h("button", { type: "button", text: t("decline"), onclick: act("dismiss", undefined, () => t("declined")) })));
  return card;
}

// --- Orders, step by step, with the delivery slot, the installer and a rating ---
const FLOW = {
  delivery: ["placed", "picked", "shipped", "out_for_delivery", "delivered", "installation_booked", "installed", "closed"],
  pickup: ["placed", "picked", "delivered", "closed"],
  visit: ["placed", "installation_booked", "installed", "closed"],
};
const PROBLEMS = ["late", "no_show", "damage", "leak", "mess_left", "incomplete", "not_explained", "rude"];

function stepName(order, status) {
  return order.fulfilment === "pickup" && (status === "picked" || status === "delivered")
    ? t(`pickup_${status}`) : t(`step_${status}`);
}

async function renderOrders() {
  let orders = await get("/v1/me/orders");
  // The API may answer an accept before its transaction is in: ask again for the order it placed.
  for (let n = 0; state.placed && !orders.some((o) => o.id === state.placed) && n < 10; n++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    orders = await get("/v1/me/orders");
  }
  state.placed = null;
  const cards = await Promise.all(orders.map(orderCard));
  return section("orders", t("orders"), orders.length ? h("ul", { class: "cards" }, cards) : empty(t("no_orders")));
}

async function orderCard(order) {
  const done = new Map(order.events.map((e) => [e.status, e]));
  const flow = order.status === "cancelled" ? [...order.events.map((e) => e.status)]
    : FLOW[order.fulfilment].filter((s) => done.has(s) || !(s === "installation_booked" || s === "installed") || order.installer_id || order.fulfilment === "visit");
  const steps = h("ol", { class: "steps" }, flow.map((s) => h("li", {
    class: done.has(s) ? "done" : "todo", "aria-current": s === order.status ? "step" : null },
  h("span", { text: stepName(order, s) }), done.has(s) ? h("span", { class: "muted", text: ` ${time(done.get(s).at)}` }) : null)));
  const card = h("li", { class: "card order", "data-order": order.id },
    h("h3", { text: t("order_n", { id: order.id }) }),
    h("ul", { class: "lines" }, order.lines.map((l) => h("li", { text: `${l.quantity} × ${l.name} · ${money(l.unit_price_cents - l.discount_cents)}` }))),
    h("p", { text: t("total", { total: money(order.total_cents) }) }),
    steps);
  if (order.slot_starts_at) {
    card.append(h("p", { text: t("slot", { from: time(order.slot_starts_at), to: new Date(order.slot_ends_at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }) }) }));
  } else if (order.needs_slot && !["cancelled", "closed", "delivered"].includes(order.status)) {
    const slots = await get(`/v1/orders/${order.id}/delivery-slots`).catch(() => []);
    const id = `slot-${order.id}`;
    const pick = h("select", { id }, slots.filter((s) => s.free > 0).map((s) => h("option", { value: s.starts_at, text: `${time(s.starts_at)}–${new Date(s.ends_at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })}` })));
    card.append(h("div", { class: "row" }, h("label", { for: id }, t("no_slot"), " ", pick),
      h("button", { type: "button", text: t("book_slot"), disabled: !slots.length, onclick: async () => {
        try { await api("PUT", `/v1/orders/${order.id}/delivery-slot`, { starts_at: pick.value }); say(t("slot_booked")); show(); } catch (err) { say(t("error", { msg: err.message })); }
      } })));
  }
  const booked = done.get("installation_booked");
  if (order.installer_id && booked) {
    card.append(h("p", { text: t("installer", { name: booked.data.installer || order.installer_id, when: time(order.install_at) }) }));
  }
  if (order.installer_id && ["installed", "closed"].includes(order.status)) card.append(ratingForm(order));
  return card;
}

function ratingForm(order) {
  const id = (x) => `${x}-${order.id}`;
  const stars = h("select", { id: id("stars") }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n, text: "★".repeat(n) + ` ${n}` })));
  const boxes = PROBLEMS.map((p) => h("label", { class: "check" }, h("input", { type: "checkbox", value: p }), t(`problem_${p}`)));
  const comment = h("textarea", { id: id("comment"), rows: 2, maxlength: 2000 });
  return h("form", { class: "rating", onsubmit: async (event) => {
    event.preventDefault();
    const problems = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    try {
      await api("POST", `/v1/me/orders/${order.id}/rating`, { stars: Number(stars.value), problems, comment: comment.value });
      say(t("rated"));
      event.target.replaceChildren(h("p", { text: t("rated") }));
    } catch (err) { say(t("error", { msg: err.message })); }
  } }, h("h4", { text: t("rate") }),
  h("label", { for: id("stars") }, t("stars"), " ", stars),
  h("fieldset", {}, h("legend", { text: t("problems") }), boxes),
  h("label", { for: id("comment") }, t("comment"), " ", comment),
  h("button", { type: "submit", class: "primary", text: t("send_rating") }));
}

// --- Coupons and points ---
async function renderWallet() {
  const [me, coupons] = await Promise.all([get("/v1/me"), get("/v1/me/coupons")]);
  return section("wallet", t("wallet"),
    h("p", { class: "points", text: t("your_points", { n: number(me.points, 0) }) }),
    h("h3", { text: t("coupons") }),
    coupons.length ? h("ul", { class: "cards" }, coupons.map((c) => h("li", { class: "card", text:
      t(c.kind === "gift" ? "gift" : "coupon", { name: itemName(c), amount: money(c.amount_cents), store: lang === "zh-CN" ? c.store_zh || c.store : c.store, date: date(c.granted_at) }) })))
      : empty(t("no_coupons")));
}

// --- Designs (opening in the designer) and products seen in a store ---
async function renderDesigns() {
  const designs = await get("/v1/me/designs");
  return section("designs", t("designs"), designs.length ? h("ul", { class: "cards" }, designs.map((d) => h("li", { class: "card" },
    h("a", { class: "big", href: `./?design=${encodeURIComponent(d.id)}&lang=${lang}#token=${encodeURIComponent(state.token)}`,
      text: t("open_designer", { name: d.name }) })))) : empty(t("no_designs")));
}

async function renderViewed() {
  const trail = await get("/v1/me/store-trail");
  return section("viewed", t("viewed"), trail.length ? h("ul", { class: "cards" }, trail.map((v) => h("li", { class: "card" },
    h("a", { class: "big", href: `product.html?sku=${encodeURIComponent(v.sku)}&lang=${lang}`, text: itemName(v) }),
    h("p", { class: "muted", text: t("viewed_item", { price: money(v.price_cents), store: (lang === "zh-CN" ? v.store_name_zh : v.store_name) || v.store_id || "", date: date(v.at) }) })))) : empty(t("no_viewed")));
}

// --- Privacy: uses of the data, what each store may see, export, delete ---
async function renderPrivacy() {
  const [purposes, stores] = await Promise.all([get("/v1/me/privacy"), get("/v1/me/store-consents")]);
  const toggle = (key, checked, onchange) => h("label", { class: "check" },
    h("input", { type: "checkbox", checked, onchange }), key);
  const saveWith = (fn) => async (event) => {
    try { await fn(event.target.checked); say(t("saved")); } catch (err) { say(t("error", { msg: err.message })); event.target.checked = !event.target.checked; }
  };
  return section("privacy", t("privacy"),
    h("fieldset", {}, h("legend", { text: t("purposes") }), Object.keys(purposes).map((p) =>
      toggle(t(`purpose_${p}`), purposes[p], saveWith((on) => api("PUT", "/v1/me/privacy", { [p]: on }))))),
    h("fieldset", {}, h("legend", { text: t("stores_see") }), Object.keys(stores).length
      ? Object.entries(stores).map(([store, on]) => toggle(store, on, saveWith((granted) => api("PUT", `/v1/me/store-consents/${encodeURIComponent(store)}`, { granted }))))
      : empty(t("no_stores"))),
    h("div", { class: "row" },
      h("button", { type: "button", text: t("export"), onclick: exportData }),
      h("button", { type: "button", class: "danger", text: t("delete"), onclick: deleteData })));
}

async function exportData() {
  try {
    const response = await fetch("/v1/me/export.zip", { headers: { Authorization: `Bearer ${state.token}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: "homeloop-export.zip" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) { say(t("error", { msg: err.message })); }
}

function deleteData() {
  const dialog = h("dialog", { "aria-labelledby": "delete-q" },
    h("p", { id: "delete-q", text: t("delete_confirm") }),
    h("div", { class: "row" },
      h("button", { type: "button", class: "danger", text: t("yes"), onclick: async () => {
        dialog.close();
        try { await api("DELETE", "/v1/me"); signedOut(t("deleted")); } catch (err) { say(t("error", { msg: err.message })); }
      } }),
      h("button", { type: "button", text: t("cancel"), onclick: () => dialog.close() })));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// --- Registering a product by its tag: typed, by NFC (Web NFC) or from the QR's link ---
async function renderRegister() {
  const given = new URLSearchParams(location.search).get("tag") || "";
  const input = h("input", { id: "tag", value: given, autocomplete: "off", autocapitalize: "characters", required: true });
  const form = h("form", { id: "register", onsubmit: async (event) => {
    event.preventDefault();
    await claim(input.value.trim());
  } }, h("label", { for: "tag" }, t("tag")), input, h("button", { type: "submit", class: "primary", text: t("register_btn") }));
  const nfc = "NDEFReader" in window ? h("button", { type: "button", text: t("nfc"), onclick: async () => {
    try {
      const reader = new window.NDEFReader();
      await reader.scan();
      say(t("nfc_hold"));
      reader.onreading = (event) => { input.value = event.serialNumber; claim(event.serialNumber); };
    } catch (err) { say(t("error", { msg: err.message })); }
  } }) : null;
  return section("register", t("register"), h("p", { text: t("register_text") }), form, nfc);
}

async function claim(tag) {
  if (!tag) return;
  try {
    const product = await api("POST", "/v1/me/products/claim", { tag_uid: tag });
    const item = await sku(product.sku);
    state.claimed = product;
    say(t("registered", { name: itemName(item) }));
    state.selected = product.id;
    history.replaceState(null, "", `${location.pathname}${lang === "en" ? "?lang=en" : ""}#home`);
    show();
  } catch (err) { say(t("error", { msg: err.message })); }
}

const RENDER = { home: renderHome, offers: renderOffers, orders: renderOrders, wallet: renderWallet,
  designs: renderDesigns, viewed: renderViewed, privacy: renderPrivacy, register: renderRegister };

// --- start ---
$("lang").onclick = () => {
  setLang(lang === "zh-CN" ? "en" : "zh-CN");
  const params = new URLSearchParams(location.search);
  params.set("lang", lang);
  history.replaceState(null, "", `${location.pathname}?${params}${location.hash}`);
  say("");
  show();
};
$("signout").onclick = () => signedOut(t("signed_out"));
const offline = () => { if (!navigator.onLine) say(t("offline")); };
window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).has("token")) state.token = takeToken(); // a new sign-in
  say(state.notice || "");
  state.notice = null;
  offline();
  show();
  $("main").focus({ preventScroll: true });
});
window.addEventListener("offline", offline);
state.token = takeToken();
if (new URLSearchParams(location.search).get("tag") && !location.hash.includes("register")) location.hash = "#register";
offline();
show();
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => navigator.serviceWorker.register("home-sw.js", { scope: "home" }).catch(() => {}));
}
