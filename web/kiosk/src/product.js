// A product on a phone: its model at the phone profile in <model-viewer>, AR where the phone has it.
import "./decoders.js"; // first: where model-viewer finds its decoders
import "@google/model-viewer";
import { apply, lang, productName, t } from "./i18n.js";

const sku = new URLSearchParams(location.search).get("sku") || "";
const viewer = document.getElementById("viewer");

apply();
viewer.a11y = { "interaction-prompt": t("turn_prompt") }; // model-viewer's own words, in the language
viewer.src = `/v1/skus/${encodeURIComponent(sku)}/model?profile=phone`;
viewer.alt = sku;
// AR: WebXR or Scene Viewer on Android, Quick Look on iOS. No ios-src: model-viewer makes the
// USDZ from the scene as shown when AR starts, so Quick Look shows the colour chosen here.
const asked = new URLSearchParams(location.search).get("colour");
let colours = new Map(); // variant name -> { name, en, zh }, from the catalog item
const modelLoaded = new Promise((resolve) => viewer.addEventListener("load", resolve, { once: true }));

async function showColours(item) {
  await modelLoaded;
  const variants = viewer.availableVariants || [];
  const select = document.getElementById("variant");
  if (variants.length) {
    colours = new Map((item?.model?.colours || []).map((c) => [c.name, c]));
    const label = (name) => (colours.has(name) ? colours.get(name)[lang === "zh-CN" ? "zh" : "en"] : name);
    select.replaceChildren(...variants.map((name) => Object.assign(document.createElement("option"), { value: name, textContent: label(name) })));
    select.onchange = () => {
      viewer.variantName = select.value;
      const url = new URL(location.href); // a reload or a shared link keeps the colour
      url.searchParams.set("colour", select.value);
      history.replaceState(null, "", url);
    };
    if (asked && variants.includes(asked)) select.value = asked;
    viewer.variantName = select.value; // what is drawn is what the list says
    document.getElementById("variant-row").hidden = false;
  }
  document.body.dataset.state = "ready";
}
viewer.addEventListener("error", () => {
  document.getElementById("status").textContent = t("error", { msg: sku });
  document.body.dataset.state = "error";
});
// The catalog item, public: names, size, stock, and its model's colour variants.
async function findItem() {
  const answer = await fetch(`/v1/skus/${encodeURIComponent(sku)}`);
  return answer.ok ? answer.json() : null;
}
findItem().then((item) => {
  showColours(item);
  if (!item) { document.getElementById("name").textContent = sku; return; }
  if (item.model?.placeholder) document.getElementById("placeholder").hidden = false;
  document.getElementById("name").textContent = productName(item);
  viewer.alt = productName(item);
  document.getElementById("facts").textContent = `${item.sku} · ${t("size3_mm", { w: item.width_mm, d: item.depth_mm, h: item.height_mm })}`;
  document.title = t("product_title", { name: productName(item) });
});
