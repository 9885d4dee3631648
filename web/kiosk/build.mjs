// Builds the kiosk and home room designer and the phone product page into dist/, which the
// API serves at /kiosk/. Everything comes from npm (package-lock.json): no CDN at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

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
