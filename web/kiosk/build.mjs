// Builds the kiosk and home room designer and the phone product page into dist/, which the
// API serves at /kiosk/. Everything comes from npm (package-lock.json): no CDN at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "src/app.js", product: "src/product.js" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "safari15"],
  outdir: out,
  legalComments: "linked",
  logLevel: "warning",
});
for (const file of ["index.html", "product.html", "style.css"]) {
  cpSync(`src/${file}`, `${out}/${file}`);
}
