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
  entryPoints: { app: "src/app.js", product: "src/product.js", style: "src/style.css" },
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
cpSync(`${out}/home-css.css`, `${out}/home.css`);
rmSync(`${out}/home-css.css`);
for (const file of ["home.html", "home.webmanifest", "home-sw.js"]) {
  cpSync(`src/${file}`, `${out}/${file}`);
}
