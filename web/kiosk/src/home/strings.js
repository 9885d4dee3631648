// The home app's words, Simplified Chinese first, English second. The language is ?lang=, then
// the saved choice (shared with the designer: "homeloop.lang"), else Chinese.
const STRINGS = {
  "zh-CN": {
    app: "我的家 · Homeloop", skip: "跳到主要内容", nav: "页面",
    nav_home: "我的家", nav_offers: "优惠", nav_orders: "订单", nav_wallet: "优惠券和积分",
    nav_designs: "我的设计", nav_viewed: "店内看过", nav_privacy: "隐私", nav_register: "登记产品",
    sign_out: "退出", signin_title: "登录", signin_text: "请在 Homeloop 应用中登录（Firebase 账号）后打开此页面；应用会把您的登录带到这里。",
    signin_again: "会话已结束：请重新登录。", signed_out: "您已退出。",
    offline: "离线：显示的是上次载入的内容。", loading: "正在载入…", error: "出错了：{msg}",
    hello: "{name}，您好", points: "{n} 积分",
    products: "我的产品", no_products: "还没有登记产品。点“登记产品”，用产品上的标签登记。",
    registered_on: "登记于 {date}", last_reading: "最近读数：{value}（{time}）", no_readings: "还没有读数",
    usage: "用量", range: "时间范围", day: "日", week: "周", month: "月", chart_label: "{name} 的 {metric}，{range}",
    no_usage: "这段时间没有用量数据。", forecasts: "预计", no_forecasts: "暂无预计。",
    runs_out: "{item}：约 {days} 天后用完（{date}）", due: "{item}：约 {days} 天后到期（{date}）",
    no_end: "{item}：暂时用不完",
    sure_high: "比较有把握", sure_mid: "大致估计", sure_low: "初步估计，数据还少",
    confidence: "把握：{words}", show: "查看", shown: "正在查看",
    offers: "优惠", no_offers: "目前没有优惠。", offer_due: "需要于 {date} 前",
    kind_replenish: "补充耗材", kind_maintenance: "保养服务", kind_upsell: "升级推荐", kind_crosssell: "搭配推荐", kind_points: "积分兑换", kind_quality: "质量通知",
    how: "方式", pickup: "门店自提", delivery: "送货上门", visit: "技师上门", store: "门店",
    accept: "确认下单", decline: "不需要", snooze: "我还有", bought: "已经买了",
    accepted: "已下单：订单 {id}。", declined: "好的，这次不再提醒。", snoozed: "好的，之后再提醒您。", bought_done: "好的，已记下。",
    status_pending: "新", status_deferred: "新", status_sent: "新", status_opened: "已查看", status_snoozed: "稍后提醒",
    status_accepted: "已下单", status_dismissed: "已拒绝", status_already_bought: "已购买", status_expired: "已过期",
    orders: "订单", no_orders: "还没有订单。", order_n: "订单 {id}", total: "合计 {total}",
    step_placed: "已下单", step_picked: "备货中", step_shipped: "已发货", step_out_for_delivery: "派送中",
    step_delivered: "已送达", step_installation_booked: "已预约安装", step_installed: "已安装", step_closed: "已完成",
    step_cancelled: "已取消", pickup_picked: "可以取货", pickup_delivered: "已取货",
    slot: "送货时段：{from}–{to}", no_slot: "请选择送货时段", book_slot: "预约时段", slot_booked: "已预约送货时段。",
    installer: "安装师傅：{name}，{when}", rate: "为安装评分", stars: "评分（1–5 星）", comment: "意见（可不填）",
    send_rating: "提交评分", rated: "谢谢您的评分。", problems: "问题",
    problem_late: "迟到", problem_no_show: "没来", problem_damage: "有损坏", problem_leak: "漏水",
    problem_mess_left: "没有清理", problem_incomplete: "没装完", problem_not_explained: "没讲解用法", problem_rude: "态度不好",
    wallet: "优惠券和积分", your_points: "您的积分：{n}", coupons: "优惠券", no_coupons: "暂无优惠券。",
    coupon: "{name}：{amount}（{store}，{date}）", gift: "{name}：赠品（{store}，{date}）",
    designs: "我的设计", no_designs: "还没有设计。", open_designer: "在房间设计中打开：{name}",
    viewed: "店内看过的产品", no_viewed: "还没有在店内看过的产品。", viewed_item: "{price} · {store}，{date}",
    privacy: "隐私", purposes: "用途", purpose_push_marketing: "推送促销信息", purpose_service_reminders: "保养和耗材提醒",
    purpose_usage_analytics: "用产品数据改进服务", stores_see: "每家门店可以看到我的资料",
    no_stores: "还没有门店。", export: "导出我的数据", delete: "删除我的资料",
    delete_confirm: "确定要删除您的全部个人资料吗？此操作无法撤销。", deleted: "您的资料已删除。", saved: "已保存。",
    yes: "确定", cancel: "取消",
    register: "登记产品", register_text: "输入产品标签上的编号，或用手机靠近标签（NFC），或扫描产品上的二维码。",
    tag: "标签编号", register_btn: "登记", nfc: "用 NFC 读取标签", nfc_hold: "请把手机靠近产品标签…",
    registered: "已登记：{name}。", already: "这件产品已经登记在您名下。",
    metric_level: "余量", metric_count: "使用次数", metric_flow_l: "流量", metric_runtime_h: "运行时间",
    metric_weight_g: "重量", metric_battery: "电量", metric_temp_c: "温度", metric_error_code: "故障代码",
    unit_L: "升", unit_h: "小时", unit_g: "克", unit_count: "次", "unit_/": "", "unit_%EL": "%", unit_Cel: "°C",
    lang_button: "English",
  },
  en: {
    app: "My home · Homeloop", skip: "Skip to the main content", nav: "Pages",
    nav_home: "My home", nav_offers: "Offers", nav_orders: "Orders", nav_wallet: "Coupons & points",
    nav_designs: "My designs", nav_viewed: "Seen in store", nav_privacy: "Privacy", nav_register: "Register a product",
    sign_out: "Sign out", signin_title: "Sign in", signin_text: "Sign in in the Homeloop app (your Firebase account) and open this page from there: the app brings your sign-in here.",
    signin_again: "Your session has ended: sign in again.", signed_out: "You have signed out.",
    offline: "Offline: showing what was loaded last.", loading: "Loading…", error: "Something went wrong: {msg}",
    hello: "Hello, {name}", points: "{n} points",
    products: "My products", no_products: "No products registered yet. Tap “Register a product” and use the tag on it.",
    registered_on: "Registered {date}", last_reading: "Last reading: {value} ({time})", no_readings: "No readings yet",
    usage: "Usage", range: "Period", day: "Day", week: "Week", month: "Month", chart_label: "{metric} of {name}, {range}",
    no_usage: "No usage in this period.", forecasts: "Forecast", no_forecasts: "No forecast yet.",
    runs_out: "{item}: runs out in about {days} days ({date})", due: "{item}: due in about {days} days ({date})",
    no_end: "{item}: no end in sight",
    sure_high: "fairly sure", sure_mid: "a rough estimate", sure_low: "an early guess, little data yet",
    confidence: "Confidence: {words}", show: "Show", shown: "Showing",
    offers: "Offers", no_offers: "No offers right now.", offer_due: "Needed by {date}",
    kind_replenish: "Refill", kind_maintenance: "Service", kind_upsell: "An upgrade", kind_crosssell: "Goes well with it", kind_points: "Points reward", kind_quality: "Quality notice",
    how: "How", pickup: "Pick up at a store", delivery: "Delivery", visit: "Technician's visit", store: "Store",
    accept: "Order it", decline: "No thanks", snooze: "I still have some", bought: "Already bought",
    accepted: "Ordered: order {id}.", declined: "All right, not for this one.", snoozed: "All right, we will remind you later.", bought_done: "All right, noted.",
    status_pending: "new", status_deferred: "new", status_sent: "new", status_opened: "seen", status_snoozed: "remind me later",
    status_accepted: "ordered", status_dismissed: "declined", status_already_bought: "bought", status_expired: "expired",
    orders: "Orders", no_orders: "No orders yet.", order_n: "Order {id}", total: "Total {total}",
    step_placed: "Placed", step_picked: "Being prepared", step_shipped: "Shipped", step_out_for_delivery: "Out for delivery",
    step_delivered: "Delivered", step_installation_booked: "Installation booked", step_installed: "Installed", step_closed: "Complete",
    step_cancelled: "Cancelled", pickup_picked: "Ready for pickup", pickup_delivered: "Collected",
    slot: "Delivery slot: {from}–{to}", no_slot: "Choose a delivery slot", book_slot: "Book this slot", slot_booked: "Delivery slot booked.",
    installer: "Installer: {name}, {when}", rate: "Rate the installation", stars: "Stars (1–5)", comment: "Comment (optional)",
    send_rating: "Send the rating", rated: "Thank you for your rating.", problems: "Problems",
    problem_late: "Late", problem_no_show: "Did not come", problem_damage: "Damage", problem_leak: "Leak",
    problem_mess_left: "Mess left", problem_incomplete: "Not finished", problem_not_explained: "Not explained", problem_rude: "Rude",
    wallet: "Coupons and points", your_points: "Your points: {n}", coupons: "Coupons", no_coupons: "No coupons.",
    coupon: "{name}: {amount} off ({store}, {date})", gift: "{name}: a gift ({store}, {date})",
    designs: "My designs", no_designs: "No designs yet.", open_designer: "Open in the room designer: {name}",
    viewed: "Products you viewed in a store", no_viewed: "Nothing viewed in a store yet.", viewed_item: "{price} · {store}, {date}",
    privacy: "Privacy", purposes: "Uses of my data", purpose_push_marketing: "Promotions by push", purpose_service_reminders: "Service and refill reminders",
    purpose_usage_analytics: "Improve the service with product data", stores_see: "What each store may see of me",
    no_stores: "No stores yet.", export: "Export my data", delete: "Delete my data",
    delete_confirm: "Delete all your personal data? This cannot be undone.", deleted: "Your data was deleted.", saved: "Saved.",
    yes: "Yes", cancel: "Cancel",
    register: "Register a product", register_text: "Type the number on the product's tag, hold your phone to the tag (NFC), or scan the QR code on the product.",
    tag: "Tag number", register_btn: "Register", nfc: "Read the tag by NFC", nfc_hold: "Hold your phone to the product's tag…",
    registered: "Registered: {name}.", already: "This product is already yours.",
    metric_level: "Level", metric_count: "Uses", metric_flow_l: "Water through the filter", metric_runtime_h: "Running time",
    metric_weight_g: "Weight", metric_battery: "Battery", metric_temp_c: "Temperature", metric_error_code: "Error code",
    unit_L: "L", unit_h: "h", unit_g: "g", unit_count: "uses", "unit_/": "", "unit_%EL": "%", unit_Cel: "°C",
    lang_button: "中文",
  },
};

export let lang = pick();

function pick() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("homeloop.lang") || "";
  return asked.toLowerCase().startsWith("en") ? "en" : "zh-CN"; // Chinese unless English is asked
}

export function setLang(next) {
  lang = next;
  localStorage.setItem("homeloop.lang", next);
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function has(key) { return key in STRINGS[lang]; }

export const date = (iso) => new Date(iso).toLocaleDateString(lang, { year: "numeric", month: "short", day: "numeric" });
export const time = (iso) => new Date(iso).toLocaleString(lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
export const money = (cents) => new Intl.NumberFormat(lang, { style: "currency", currency: "CNY" }).format(cents / 100);
export const number = (n, digits = 1) => new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n);
export const name = (item) => (lang === "zh-CN" && item.name_zh ? item.name_zh : item.name);
