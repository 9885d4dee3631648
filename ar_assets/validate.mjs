// Run the Khronos glTF-Validator on one GLB read from stdin; print its report as JSON.
// Usage: node validate.mjs [maxIssues] < model.glb
// Only GLB is given to it (our glTF+files input is packed into a GLB first), so external
// resources are never requested: any URI left in the file is refused before this runs,
// and externalResourceFunction refuses whatever the validator still asks for.
import validator from 'gltf-validator';

const maxIssues = Number(process.argv[2] || 200);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = new Uint8Array(Buffer.concat(chunks));

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
