// English and Simplified Chinese; the language is ?lang=, then the saved choice, then the browser's.
const STRINGS = {
  en: {
    skip: "Skip to the design panel", title: "Room designer", enter_vr: "Enter VR",
    handoff: "Send to phone", sign_out: "Sign out", reload: "Reload the latest version",
    signin_title: "Sign in this kiosk", kiosk_id: "Kiosk number", secret: "Kiosk secret",
    sign_in: "Sign in", open_title: "Open a design", design_id: "Design number", open: "Open",
    canvas_label: "The room in 3D. Select items from the list to move them with the keyboard.",
    view_help: "Drag a product to move it (5 cm steps, it snaps to walls); drag the floor to look around. Keys: arrows move, [ and ] turn 15°, Tab through the items list.",
    items: "Items", selected: "Selected", turn_left: "Turn left 15°", turn_right: "Turn right 15°",
    remove: "Remove", colour: "Colour", product_page: "Product page (AR on a phone)",
    findings: "Checks", no_findings: "Everything fits.", catalog: "Add a product", fits: "Fits",
    fit_any: "Anywhere", fit_wall: "Along wall {wall} in {room} ({len} m free)", fit_spot: "The spot last tapped ({w} × {d} m free)",
    bom: "Bill of materials", item: "Item", qty: "Qty", price: "Price", stock: "Stock",
    here: "here", online: "online", nearby: "nearby", none_in_stock: "out of stock", total: "Total",
    qr_title: "Scan with the Homeloop app", code: "Code", close: "Close",
    expires: "Valid until {time}, once.", loading: "Loading the room…", saving: "Saving…",
    saved: "Saved: version {v}.", ready: "Room ready: {n} items.",
    conflict: "Someone else changed this design (now version {v}). Your last change was not saved.",
    error: "Something went wrong: {msg}", signin_failed: "Sign-in failed: {msg}",
    version: "version {v}", moved: "{name} at {x}, {y} m, {r}°",
    signin_again: "Your session has ended: sign in again.", undo: "Undo", undone: "Undone: version {v} holds what was there before.",
    start_title: "Start a design", customer_qr: "Customer: scan to sign in here",
    customers_refresh: "Who is signed in here", for_customer: "For", store_session: "This store (hand over later)",
    customer_n: "Customer {id} (until {time})", layout_q: "Residential community or address", search: "Search",
    customer_qr_title: "Scan with the Homeloop app to let this kiosk open your home",
    layout_item: "{community}, {city}: {name} ({area} m²)",
    default_variant: "Standard", no_models: "No products fit there.", vr_unavailable: "VR is not available here.",
    signed_out_title: "You have signed out", signed_out_text: "To open your designs again, sign in with the Homeloop app.",
    kiosk_instead: "This is a store kiosk: sign it in",
    page_title: "Room designer · Homeloop", product_title: "{name} · Homeloop", product: "Product",
    size_mm: "{w}×{d} mm", size3_mm: "{w}×{d}×{h} mm", view_in_room: "View in your room",
    placeholder_model: "A stand-in model: not how this product looks.",
    turn_prompt: "Turn it with a finger, the mouse or the arrow keys.",
    rooms: "Rooms", room_area: "{name}, {area} m²", room_storey: "{name} ({n}F)",
    unscanned_note: "{len} m of its outline has no wall along it: a side the scan did not cover, dashed red on the plan.",
    unscanned_legend: "Dashed red on the plan: a side of a room the scan did not cover (no wall was found there).",
  },
  "zh-CN": {
    skip: "跳到设计面板", title: "房间设计", enter_vr: "进入 VR", handoff: "发送到手机",
    sign_out: "退出", reload: "载入最新版本", signin_title: "登录本台自助终端", kiosk_id: "终端编号",
    secret: "终端密钥", sign_in: "登录", open_title: "打开设计", design_id: "设计编号", open: "打开",
    canvas_label: "房间的三维视图。在列表中选择物品后可用键盘移动。",
    view_help: "拖动产品即可移动（每步 5 厘米，会贴墙对齐）；拖动地面可转换视角。键盘：方向键移动，[ 和 ] 旋转 15°，Tab 浏览物品列表。",
    items: "物品", selected: "已选", turn_left: "向左转 15°", turn_right: "向右转 15°", remove: "移除",
    colour: "颜色", product_page: "产品页面（手机 AR）", findings: "检查", no_findings: "一切合适。",
    catalog: "添加产品", fits: "适合", fit_any: "任意位置", fit_wall: "{room}沿墙 {wall}（可用 {len} 米）",
    fit_spot: "上次点按的位置（可用 {w} × {d} 米）", bom: "物料清单", item: "物品", qty: "数量",
    price: "价格", stock: "库存", here: "本店", online: "网店", nearby: "附近", none_in_stock: "缺货",
    total: "合计", qr_title: "用 Homeloop 应用扫码", code: "代码", close: "关闭",
    expires: "有效期至 {time}，仅限一次。", loading: "正在载入房间…", saving: "正在保存…",
    saved: "已保存：第 {v} 版。", ready: "房间已就绪：{n} 件物品。",
    conflict: "有人已修改此设计（现为第 {v} 版）。您最近的修改没有保存。",
    error: "出错了：{msg}", signin_failed: "登录失败：{msg}", version: "第 {v} 版",
    signin_again: "会话已结束：请重新登录。", undo: "撤销", undone: "已撤销：第 {v} 版恢复了之前的内容。",
    start_title: "新建设计", customer_qr: "顾客：扫码在此登录", customers_refresh: "已在此登录的顾客",
    for_customer: "为", store_session: "本店（稍后交给顾客）", customer_n: "顾客 {id}（至 {time}）",
    layout_q: "小区或地址", search: "搜索", customer_qr_title: "用 Homeloop 应用扫码，允许本终端打开您的家",
    layout_item: "{community}，{city}：{name}（{area} 平方米）",
    moved: "{name} 位于 {x}, {y} 米，{r}°", default_variant: "标准",
    no_models: "没有适合此处的产品。", vr_unavailable: "此设备不支持 VR。",
    signed_out_title: "您已退出", signed_out_text: "如需再次打开您的设计，请用 Homeloop 应用登录。",
    kiosk_instead: "这是门店终端：登录终端",
    page_title: "房间设计 · Homeloop", product_title: "{name} · Homeloop", product: "产品",
    size_mm: "{w}×{d} 毫米", size3_mm: "{w}×{d}×{h} 毫米", view_in_room: "在您的房间里查看",
    placeholder_model: "示意模型：并非该产品的实际外观。",
    turn_prompt: "用手指、鼠标或方向键转动。",
    rooms: "房间", room_area: "{name}，{area} 平方米", room_storey: "{name}（{n}楼）",
    unscanned_note: "外轮廓有 {len} 米没有墙：扫描未覆盖的一侧，平面图上以红色虚线标出。",
    unscanned_legend: "平面图上的红色虚线：扫描未覆盖的房间一侧（那里没有找到墙）。",
  },
};

export let lang = pickLanguage();

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("homeloop.lang")
    || navigator.language || "en";
  return asked.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function setLanguage(next) {
  lang = next;
  localStorage.setItem("homeloop.lang", next);
  apply();
}

export function apply(root = document) {
  document.documentElement.lang = lang;
  const title = document.documentElement.dataset.i18nTitle; // the tab's title, in the language too
  if (title) document.title = t(title);
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

export function productName(item) {
  return lang === "zh-CN" && item.name_zh ? item.name_zh : item.name;
}
