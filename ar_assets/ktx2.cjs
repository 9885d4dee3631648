// Transcode one KTX2 texture (KHR_texture_basisu: Basis Universal ETC1S or UASTC, Zstandard
// supercompression or none) into raw RGBA pixels, with the Basis Universal transcoder that the
// npm package `three` ships (examples/jsm/libs/basis), pinned in package-lock.json.
// Usage: node ktx2.cjs input.ktx2 output.rgba
// Prints {"width", "height", "alpha"} as JSON, or {"refused": why} for a file it cannot read.
'use strict';
const fs = require('fs');

function loadTranscoder() {
  const script = require.resolve('three/examples/jsm/libs/basis/basis_transcoder.js');
  const wasm = require.resolve('three/examples/jsm/libs/basis/basis_transcoder.wasm');
  // three's package is ESM, so this file (an Emscripten module that assigns `BASIS`) is
  // evaluated as a plain script rather than required.
  const source = fs.readFileSync(script, 'utf8');
  // eslint-disable-next-line no-new-func
  const factory = new Function('require', '__filename', '__dirname',
    `${source}\nreturn BASIS;`)(require, script, require('path').dirname(script));
  return factory({ wasmBinary: fs.readFileSync(wasm) });
}

const RGBA32 = 13; // basist::transcoder_texture_format::cTFRGBA32

async function main() {
  const [input, output] = process.argv.slice(2);
  const basis = await loadTranscoder();
  basis.initializeBasis();
  const file = new basis.KTX2File(new Uint8Array(fs.readFileSync(input)));
  try {
    if (!file.isValid()) {
      process.stdout.write(JSON.stringify({ refused: 'not a Basis Universal KTX2 texture' }));
      return;
    }
    if (file.getFaces() !== 1 || file.getLayers() > 1) {
      process.stdout.write(JSON.stringify({ refused: 'a cube map or texture array, not a 2D texture' }));
      return;
    }
    if (!file.startTranscoding()) {
      process.stdout.write(JSON.stringify({ refused: 'its Basis Universal data cannot be transcoded' }));
      return;
    }
    const pixels = new Uint8Array(file.getImageTranscodedSizeInBytes(0, 0, 0, RGBA32));
    if (!file.transcodeImage(pixels, 0, 0, 0, RGBA32, 0, -1, -1)) {
      process.stdout.write(JSON.stringify({ refused: 'its Basis Universal data cannot be transcoded' }));
      return;
    }
    fs.writeFileSync(output, pixels);
    process.stdout.write(JSON.stringify({
      width: file.getWidth(), height: file.getHeight(), alpha: Boolean(file.getHasAlpha()),
    }));
  } finally {
    file.close();
    file.delete();
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
