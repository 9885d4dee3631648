// Builds the kiosk and home room designer and the phone product page into dist/, which the
// API serves at /kiosk/. Everything comes from npm (package-lock.json): no CDN at run time.
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import subsetFont from "subset-font";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  // style.css pulls in the Chinese web font (Noto Sans SC, split by unicode-range): its
  // parts land in fonts/, and a browser fetches only those holding characters a page shows.
  entryPoints: { app: "src/app.js", product: "src/product.js", style: "src/style.css",
                 assist: "src/assist.js" }, // assist.js imports assist.css: dist/assist.css
  loader: { ".woff2": "file" },
  assetNames: "fonts/[name]-[hash]",
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "safari15"],
  outdir: out,
  legalComments: "linked",
  logLevel: "warning",
});
for (const file of ["index.html", "product.html", "icon.svg"]) {
  cpSync(`src/${file}`, `${out}/${file}`);
}
// The shop assistant's tablet: its page, manifest and offline shell (a service worker).
for (const file of ["assist.html", "assist.webmanifest", "assist-sw.js"]) {
  cpSync(`src/${file}`, `${out}/${file}`);
}
// model-viewer's decoders (src/decoders.js says where): three's Draco and Basis builds (the
// three that model-viewer is built on) and meshoptimizer's classic-script decoder.
const three = "node_modules/three/examples/jsm/libs";
for (const file of ["draco_decoder.js", "draco_decoder.wasm", "draco_wasm_wrapper.js"]) {
  cpSync(`${three}/draco/gltf/${file}`, `${out}/decoders/draco/${file}`);
}
cpSync(`${three}/draco/README.md`, `${out}/decoders/draco/README.md`); // its licence
for (const file of ["basis_transcoder.js", "basis_transcoder.wasm", "README.md"]) {
  cpSync(`${three}/basis/${file}`, `${out}/decoders/basis/${file}`);
}
cpSync("node_modules/meshoptimizer/meshopt_decoder.cjs", `${out}/decoders/meshopt/meshopt_decoder.js`);
cpSync("node_modules/meshoptimizer/LICENSE.md", `${out}/decoders/meshopt/LICENSE.md`);
cpSync("node_modules/@fontsource-variable/noto-sans-sc/LICENSE", `${out}/fonts/LICENSE`); // OFL

// The customer's home app (home.html, src/home*): a build of its own so that its chart
// (uPlot) is a chunk loaded after the first screen (splitting), and its service worker and
// manifest beside it (the worker's scope is /kiosk/home).
await build({
  entryPoints: { home: "src/home.js", "home-css": "src/home.css" },
  loader: { ".woff2": "file" },
  assetNames: "fonts/[name]-[hash]",
  chunkNames: "home-chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "safari15"],
  outdir: out,
  legalComments: "linked",
  logLevel: "warning",
});
// The home app's first screen in Chinese would fetch 8-11 of the font's parts (about 70 KB
// each). A subset of them, "Homeloop SC", holds only the characters the app's own words and
// the server's wording of what it shows use (the catalog's names, forecasts' and offers'
// reasons, order steps: read from their sources here; dates and prices; Latin), cut the same
// way by unicode-range so
// a page fetches only the few KB it needs; it comes first in home.css's font stack, and the
// whole font's parts stay behind it for any other character (a customer's name).
const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/gu;
const wording = ["src/home/strings.js", "../../catalog/seed.py", "../../replenishment/reasons.py",
  "../../replenishment/offer_reasons.py", "../../replenishment/texts.py", "../../orders/lifecycle.py",
  "../../homeloop/errors.py"];
const wanted = new Set(wording.filter((f) => existsSync(f)).flatMap((f) => readFileSync(f, "utf8").match(CJK) ?? []));
// what Intl writes in Chinese dates, times and money, and the Latin letters, digits and signs
for (const c of "年月日时分秒上午下午星期一二三四五六¥–—…·×") wanted.add(c);
for (let c = 0x20; c < 0x7f; c++) wanted.add(String.fromCodePoint(c));
const fontsource = "node_modules/@fontsource-variable/noto-sans-sc";
const faces = [];
for (const [, file, ranges] of readFileSync(`${fontsource}/index.css`, "utf8")
  .matchAll(/url\(\.\/files\/([^)]+\.woff2)\)[^;]*;\s*unicode-range: ([^;]+);/g)) {
  const spans = ranges.split(",").map((r) => r.trim().slice(2).split("-").map((h) => parseInt(h, 16)));
  const chars = [...wanted].filter((c) => spans.some(([lo, hi = lo]) => c.codePointAt(0) >= lo && c.codePointAt(0) <= hi));
  if (!chars.length) continue;
  const part = await subsetFont(readFileSync(`${fontsource}/files/${file}`), chars.join(""), { targetFormat: "woff2" });
  const name = `fonts/home-sc-${createHash("sha256").update(part).digest("hex").slice(0, 10)}.woff2`;
  writeFileSync(`${out}/${name}`, part);
  const range = chars.map((c) => `U+${c.codePointAt(0).toString(16)}`).join(",");
  faces.push(`@font-face{font-family:"Homeloop SC";font-style:normal;font-display:swap;font-weight:100 900;` +
    `src:url(${name}) format("woff2-variations");unicode-range:${range}}`);
}
writeFileSync(`${out}/home.css`, faces.join("\n") + "\n" + readFileSync(`${out}/home-css.css`, "utf8"));
rmSync(`${out}/home-css.css`);
for (const file of ["home.html", "home.webmanifest", "home-sw.js"]) {
  cpSync(`src/${file}`, `${out}/${file}`);
}
