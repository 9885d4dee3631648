// A product on a phone: its model at the phone profile in <model-viewer>, AR where the phone has it.
import "./decoders.js"; // first: where model-viewer finds its decoders
import "@google/model-viewer";
import { apply, productName, t } from "./i18n.js";

const sku = new URLSearchParams(location.search).get("sku") || "";
const viewer = document.getElementById("viewer");

apply();
viewer.a11y = { "interaction-prompt": t("turn_prompt") }; // model-viewer's own words, in the language
viewer.src = `/v1/skus/${encodeURIComponent(sku)}/model?profile=phone`;
viewer.alt = sku;
viewer.addEventListener("load", () => {
  const variants = viewer.availableVariants || [];
  const select = document.getElementById("variant");
  if (variants.length) {
    select.replaceChildren(...variants.map((name) => Object.assign(document.createElement("option"), { value: name, textContent: name })));
    select.onchange = () => { viewer.variantName = select.value; };
    document.getElementById("variant-row").hidden = false;
  }
  document.body.dataset.state = "ready";
});
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
  if (!item) { document.getElementById("name").textContent = sku; return; }
  document.getElementById("name").textContent = productName(item);
  viewer.alt = productName(item);
  document.getElementById("facts").textContent = `${item.sku} · ${t("size3_mm", { w: item.width_mm, d: item.depth_mm, h: item.height_mm })}`;
  document.title = t("product_title", { name: productName(item) });
});
