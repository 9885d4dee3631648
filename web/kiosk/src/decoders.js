// Where <model-viewer> finds its decoders: on this server, copied from npm by build.mjs (the
// deployment reaches no other host). Imported before "@google/model-viewer", because each
// <model-viewer> reads self.ModelViewerElement when it is made and falls back to a CDN.
// The pipeline's phone models are meshopt-compressed (EXT_meshopt_compression); Draco and
// KTX2 (Basis) are here for models compressed elsewhere.
const here = (path) => new URL(path, import.meta.url).href;
self.ModelViewerElement = Object.assign(self.ModelViewerElement || {}, {
  meshoptDecoderLocation: here("decoders/meshopt/meshopt_decoder.js"),
  dracoDecoderLocation: here("decoders/draco/"),
  ktx2TranscoderLocation: here("decoders/basis/"),
});
