// Decode a compressed or quantized GLB into a plain one, with glTF Transform (npm packages
// @gltf-transform/*, meshoptimizer's and Draco's own decoders), pinned in package-lock.json.
// Usage: node decode.cjs input.glb output.glb
// Geometry compressed with EXT_meshopt_compression or KHR_draco_mesh_compression is decoded,
// and KHR_mesh_quantization's integer attributes become floats (the positions' scale stays in
// the node transforms), so that any reader (trimesh, gltfpack) sees plain accessors; everything
// else (materials, textures, extras, KHR_materials_variants) is kept. Prints what it decoded
// as JSON. The input is a GLB we already checked: read from bytes, with no base folder, so no
// URI is ever resolved against this machine's files.
'use strict';
const fs = require('fs');
const { NodeIO } = require('@gltf-transform/core');
const { ALL_EXTENSIONS } = require('@gltf-transform/extensions');
const { dequantize } = require('@gltf-transform/functions');
const draco3d = require('draco3dgltf');
const MeshoptDecoder = require('meshoptimizer/decoder.cjs');

const DECODED = ['EXT_meshopt_compression', 'KHR_draco_mesh_compression', 'KHR_mesh_quantization'];

async function main() {
  const [input, output] = process.argv.slice(2);
  await MeshoptDecoder.ready;
  const io = new NodeIO()
    .registerExtensions(ALL_EXTENSIONS)
    .registerDependencies({
      'draco3d.decoder': await draco3d.createDecoderModule(),
      'meshopt.decoder': MeshoptDecoder,
    });
  let document;
  try {
    document = await io.readBinary(new Uint8Array(fs.readFileSync(input)));
  } catch (err) {
    // The file cannot be decoded (corrupt compressed data): a refusal, not a tool failure.
    process.stdout.write(JSON.stringify({ refused: String(err && err.message ? err.message : err) }));
    return;
  }
  const used = document.getRoot().listExtensionsUsed().map((e) => e.extensionName);
  const decoded = DECODED.filter((name) => used.includes(name));
  // Without these extensions in the document, writing keeps the decoded data as it is.
  for (const ext of document.getRoot().listExtensionsUsed()) {
    if (ext.extensionName === 'EXT_meshopt_compression'
        || ext.extensionName === 'KHR_draco_mesh_compression') ext.dispose();
  }
  if (decoded.includes('KHR_mesh_quantization')) await document.transform(dequantize());
  fs.writeFileSync(output, await io.writeBinary(document));
  process.stdout.write(JSON.stringify({ decoded }));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
