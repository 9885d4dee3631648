// Run the Khronos glTF-Validator on one GLB read from stdin; print its report as JSON.
// Usage: node validate.cjs [maxIssues] < model.glb, or node validate.cjs maxIssues model.glb
// CommonJS so that NODE_PATH finds the package when this file is installed away from
// node_modules (the container image). Only GLB is given to it (a glTF upload is packed into
// a GLB first, and any URI left is refused before this runs); externalResourceFunction
// refuses whatever the validator still asks for, so it reads nothing else.
'use strict';
const fs = require('fs');
const validator = require('gltf-validator');

async function main() {
  const maxIssues = Number(process.argv[2] || 200);
  let data;
  if (process.argv[3]) {
    data = fs.readFileSync(process.argv[3]); // a Buffer is a Uint8Array: read once, no copy
  } else {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    data = Buffer.concat(chunks);
  }
  try {
    const report = await validator.validateBytes(data, {
      maxIssues,
      writeTimestamp: false,
      externalResourceFunction: (uri) =>
        Promise.reject(new Error(`external resource not allowed: ${uri}`)),
    });
    process.stdout.write(JSON.stringify(report));
  } catch (err) {
    process.stdout.write(JSON.stringify({ fatal: String(err && err.message ? err.message : err) }));
  }
}

main();
