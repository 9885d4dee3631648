// QR codes from the device camera with the browser's own BarcodeDetector where it has one
// (Chrome on Android and ChromeOS, Safari 17+); elsewhere the caller shows the typed fallback.
export function canScan() {
  return "BarcodeDetector" in globalThis && !!navigator.mediaDevices?.getUserMedia;
}

// Starts the camera in `video`; calls onCode(text) with the first QR read, then stops.
// Returns stop(). Throws if the camera cannot be had (no permission, no camera).
export async function scanInto(video, onCode) {
  const formats = await globalThis.BarcodeDetector.getSupportedFormats?.() ?? ["qr_code"];
  if (!formats.includes("qr_code")) throw new Error("no QR support");
  const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  await video.play();
  let running = true;
  const stop = () => {
    running = false;
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  };
  const tick = async () => {
    if (!running) return;
    try {
      const [found] = await detector.detect(video);
      if (found?.rawValue) { stop(); onCode(found.rawValue); return; }
    } catch { /* a frame not ready yet */ }
    setTimeout(tick, 200);
  };
  tick();
  return stop;
}

// What a scanned or typed code names: a member QR holds the card number; a product QR opens
// its product page (…/product.html?sku=X) or is the SKU itself.
export function skuOf(text) {
  const trimmed = text.trim();
  try {
    const url = new URL(trimmed);
    return url.searchParams.get("sku") || trimmed;
  } catch {
    return trimmed;
  }
}
