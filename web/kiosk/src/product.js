// A product on a phone: its model at the phone profile in <model-viewer>, AR where the phone has it.
import "./decoders.js"; // first: where model-viewer finds its decoders
import "@google/model-viewer";
import { apply, productName, t } from "./i18n.js";

const sku = new URLSearchParams(location.search).get("sku") || "";
const viewer = document.getElementById("viewer");

apply();
viewer.src = `/v1/skus/${encodeURIComponent(sku)}/model?profile=phone`;
viewer.alt = sku;
viewer.addEventListener("load", () => {
  const variants = viewer.availableVariants || [];
  const select = document.getElementById("variant");
  if (variants.length) {
    select.replaceChildren(...variants.map((name) => Object.assign(document.createElement("option"), { value: name, textContent: name })));
    select.onchange = () => { viewer.variantName = select.value; };
    select.hidden = false;
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
  document.getElementById("facts").textContent = `${item.sku} · ${item.width_mm}×${item.depth_mm}×${item.height_mm} mm`;
  document.title = productName(item);
});
