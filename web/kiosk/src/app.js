// The kiosk and home room designer: a design's scene (GLB) in three.js, products picked through
// their node extras, moved and turned with mouse, touch or keys, saved with If-Match.
import * as THREE from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import QRCode from "qrcode";
import { ApiError, binary, forgetToken, kioskSignIn, request, takeToken } from "./api.js";
import { apply, lang, productName, setLanguage, t } from "./i18n.js";
import { corners, freeAround, onGrid, snap, turned, wallRuns } from "./snap.js";

const $ = (id) => document.getElementById(id);
const state = {
  token: null, designId: null, design: null, etag: null, plan: null, findings: [],
  nodes: new Map(), // placement id -> three.js node
  selected: null, saving: Promise.resolve(), spot: null, catalog: new Map(), helpers: [],
};
// What tests and the benchmark read: first frame time, the saved version, the last error.
const probe = (window.homeloopKiosk = { firstFrameMs: null, version: null, conflict: false });

let renderer, scene, camera, controls, root = null;
// Frames are drawn when something changed (or in VR), not 60 times a second for nothing.
let dirty = true;
const invalidate = () => { dirty = true; };

// Where a placed product (or a plan point) is on the screen, in page pixels.
function onScreen(point) {
  const rect = $("view").getBoundingClientRect();
  const v = point.clone().project(camera);
  return { x: rect.left + ((v.x + 1) / 2) * rect.width, y: rect.top + ((1 - v.y) / 2) * rect.height };
}
// The middle of a product's top, which the camera above sees whatever stands in front of it.
probe.screenOf = (id) => {
  const node = state.nodes.get(id);
  if (!node) return null;
  const box = new THREE.Box3().setFromObject(node);
  const top = box.getCenter(new THREE.Vector3());
  top.y = box.max.y - 0.01;
  return onScreen(top);
};
// Which product a pointer at (x, y) would pick.
probe.pickAt = (x, y) => pick(planPoint({ clientX: x, clientY: y }).ray);
probe.screenOfPlan = (x, y, height = 0) => onScreen(new THREE.Vector3(x, height, y));

function say(text) { $("status").textContent = text; }

function claims(token) {
  try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); }
  catch { return {}; }
}
const isSession = () => claims(state.token).iss === "homeloop";

// --- start: who, and which design ---

function labelLanguageButton() {
  $("lang").textContent = lang === "zh-CN" ? "English" : "中文";
  $("lang").lang = lang === "zh-CN" ? "en" : "zh-CN";
}

async function start() {
  apply();
  labelLanguageButton();
  $("lang").onclick = () => { setLanguage(lang === "zh-CN" ? "en" : "zh-CN"); start.relabel(); };
  // Signing out forgets the token; a kiosk shows its sign-in again, a customer (who signs in
  // with the app, not here) is told they have signed out.
  $("signout").onclick = () => {
    sessionStorage.setItem(SIGNED_OUT, isSession() ? "kiosk" : "customer");
    forgetToken();
    location.reload();
  };
  state.token = takeToken();
  state.designId = new URLSearchParams(location.search).get("design");
  if (state.token) sessionStorage.removeItem(SIGNED_OUT);
  $("signout").hidden = !state.token;
  if (!state.token && sessionStorage.getItem(SIGNED_OUT) === "customer") return showSignedOut();
  if (!state.token) return showSignIn();
  if (!state.designId) return showOpen();
  return openDesign();
}
start.relabel = () => {
  labelLanguageButton();
  if (state.design) { renderItems(); renderFindings(); loadChecks(); loadBom(); loadCatalog(); showVersion(); showSelectedName(); renderRooms(); }
};

const SIGNED_OUT = "homeloop.signedOut";

function showSignedOut() {
  document.body.dataset.state = "signedout";
  $("signed-out").hidden = false;
  $("kiosk-instead").onclick = () => {
    sessionStorage.removeItem(SIGNED_OUT);
    $("signed-out").hidden = true;
    showSignIn();
  };
}

function showSignIn() {
  document.body.dataset.state = "signin";
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("kiosk-id").focus();
  $("signin").onsubmit = async (event) => {
    event.preventDefault();
    try {
      await kioskSignIn($("kiosk-id").value, $("kiosk-secret").value);
      say(""); // an earlier failure is no longer true
      $("signin").hidden = true;
      $("signout").hidden = false;
      state.token = sessionStorage.getItem("homeloop.token");
      state.designId ? openDesign() : showOpen();
    } catch (err) { say(t("signin_failed", { msg: err.message })); }
  };
}

async function showOpen() {
  document.body.dataset.state = "open";
  $("open").hidden = false;
  $("open-id").onsubmit = (event) => {
    event.preventDefault();
    location.search = `?design=${encodeURIComponent($("design-id").value.trim())}`;
  };
  if (isSession()) return kioskStart();
  await listDesigns("/v1/me/designs");
}

// The designs at ``url`` as links: the signed-in customer's own, or, on a kiosk, those of the
// customer who let it in.
async function listDesigns(url) {
  try {
    const { data } = url ? await request("GET", url) : { data: [] };
    $("my-designs").replaceChildren(...data.map((d) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `?design=${d.id}`;
      a.textContent = `${d.name} (${t("version", { v: d.version })})`;
      li.append(a);
      return li;
    }));
  } catch (err) { say(t("error", { msg: err.message })); }
}

// A kiosk starts a design on a community's layout: for a customer who let it in by scanning
// its QR code (an identity grant), or held by the store until it is handed over.
function kioskStart() {
  $("kiosk-start").hidden = false;
  const refresh = async () => {
    const { data } = await request("GET", "/v1/kiosk/grants");
    const chosen = $("for-customer").value;
    const known = new Set([...$("for-customer").options].map((o) => o.value));
    const arrived = data.filter((g) => !known.has(String(g.customer_id)));
    $("for-customer").replaceChildren(...[{ customer_id: "" }, ...data].map((g) => {
      const option = document.createElement("option");
      option.value = String(g.customer_id);
      option.textContent = g.customer_id === "" ? t("store_session")
        : t("customer_n", { id: g.customer_id, time: new Date(g.expires_at).toLocaleTimeString(lang) });
      return option;
    }));
    // a customer who just scanned the QR is who the next design is for
    $("for-customer").value = arrived.length ? String(arrived[arrived.length - 1].customer_id)
      : [...$("for-customer").options].some((o) => o.value === chosen) ? chosen : "";
    await customerDesigns();
  };
  const customerDesigns = () => {
    const customer = $("for-customer").value;
    return listDesigns(customer ? `/v1/customers/${encodeURIComponent(customer)}/designs` : null);
  };
  $("for-customer").onchange = () => customerDesigns();
  refresh().catch((err) => say(t("error", { msg: err.message })));
  $("customers-refresh").onclick = () => refresh().catch((err) => say(t("error", { msg: err.message })));
  $("customer-qr").onclick = async () => {
    try {
      const { data } = await request("POST", "/v1/kiosk/handoffs");
      await showQr(data.qr_text, data.code, data.expires_at, t("customer_qr_title"));
      $("qr-dialog").addEventListener("close", () => refresh(), { once: true });
    } catch (err) { say(t("error", { msg: err.message })); }
  };
  $("layout-search").onsubmit = async (event) => {
    event.preventDefault();
    try {
      const q = new URLSearchParams({ q: $("layout-q").value.trim() });
      const { data } = await request("GET", `/v1/communities/layouts?${q}`);
      $("layouts").replaceChildren(...data.map((layout) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = t("layout_item", { community: layout.community, city: layout.city, name: layout.name, area: Math.round(layout.area_m2) });
        button.onclick = () => startDesign(layout);
        li.append(button);
        return li;
      }));
    } catch (err) { say(t("error", { msg: err.message })); }
  };
}

async function startDesign(layout) {
  const customer = $("for-customer").value;
  const body = { name: layout.name, layout_id: layout.id, placements: [] };
  if (customer) body.customer_id = Number(customer);
  try {
    const { data } = await request("POST", "/v1/designs", body);
    location.search = `?design=${encodeURIComponent(data.id)}`;
  } catch (err) { say(t("error", { msg: err.message })); }
}

async function showQr(text, code, expiresAt, title) {
  await QRCode.toCanvas($("qr"), text, { width: 240, margin: 2, errorCorrectionLevel: "M" });
  $("qr").dataset.link = text;
  $("qr-title").textContent = title;
  $("qr-code").textContent = code;
  $("qr-expires").textContent = t("expires", { time: new Date(expiresAt).toLocaleTimeString(lang) });
  $("qr-dialog").showModal();
}

// --- the room ---

function setUpView() {
  const canvas = $("view");
  renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  renderer.xr.enabled = true;
  scene = new THREE.Scene();
  scene.background = new THREE.Color(0xdfe3e8);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8d8d, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(5, 10, 7);
  scene.add(sun);
  camera = new THREE.PerspectiveCamera(50, 1, 0.05, 200);
  controls = new OrbitControls(camera, canvas);
  controls.maxPolarAngle = Math.PI / 2.1;
  const resize = () => {
    const { clientWidth: w, clientHeight: h } = canvas.parentElement;
    renderer.setSize(w, h, false);
    camera.aspect = w / Math.max(h, 1);
    camera.updateProjectionMatrix();
    invalidate();
  };
  new ResizeObserver(resize).observe(canvas.parentElement);
  resize();
  controls.addEventListener("change", invalidate);
  renderer.setAnimationLoop(() => {
    controls.update();
    if (!dirty && !renderer.xr.isPresenting) return;
    dirty = false;
    renderer.render(scene, camera);
    placeRoomTags();
    placeTags();
    if (root && probe.firstFrameMs === null) {
      probe.firstFrameMs = performance.now();
      document.body.dataset.state = "ready";
    }
  });
  bindPointer(canvas);
  bindKeys(canvas);
}

async function openDesign() {
  document.body.dataset.state = "loading";
  $("designer").hidden = false;
  say(t("loading"));
  if (!renderer) setUpView();
  try {
    const base = `/v1/designs/${encodeURIComponent(state.designId)}`;
    const [design, glb] = await Promise.all([request("GET", base), binary(`${base}/scene.glb?profile=planner`)]);
    takeDesign(design);
    // Bound before the room shows: a button that is there must work (a touch right after
    // the room appeared did nothing while the panels were still loading).
    $("handoff").hidden = !isSession();
    $("handoff").onclick = handOff;
    $("undo").hidden = false;
    $("undo").onclick = () => { state.saving = state.saving.then(undo); };
    await showScene(glb);
    say(t("ready", { n: state.design.placements.length }));
    const plan = await request("GET", `/v1/floorplans/${state.design.floor_plan_id}/plan.json`);
    state.plan = plan.data;
    showRooms();
    const early = state.earlyTap; // a wall or the floor tapped before the plan came
    state.earlyTap = null;
    await Promise.all([loadChecks(), loadBom(), (early && tapped(early)) || loadCatalog(), offerVr()]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { // expired or revoked: sign in again
      forgetToken();
      $("designer").hidden = true;
      showSignIn();
      say(t("signin_again"));
      return;
    }
    document.body.dataset.state = "error";
    say(t("error", { msg: err.message }));
  }
}

function takeDesign({ data, etag }) {
  state.design = data;
  state.etag = etag;
  probe.version = data.version;
  $("design-name").textContent = data.name;
  showVersion();
}
const showVersion = () => { $("version").textContent = t("version", { v: state.design.version }); };

async function showScene(buffer) {
  const loader = new GLTFLoader().setMeshoptDecoder(MeshoptDecoder);
  const gltf = await loader.parseAsync(buffer, "");
  if (root) scene.remove(root);
  root = gltf.scene;
  state.parser = gltf.parser;
  scene.add(root);
  invalidate();
  state.nodes.clear();
  root.traverse((node) => {
    if (node.userData?.placement_id) state.nodes.set(node.userData.placement_id, node);
  });
  if (!state.framed) {
    const box = new THREE.Box3().setFromObject(root);
    const centre = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3());
    camera.position.set(centre.x, Math.max(size.x, size.z) * 1.1 + 2, centre.z + Math.max(size.z, 4) * 0.6);
    controls.target.copy(centre);
    state.framed = true;
  }
  await Promise.all(state.design.placements.filter((p) => p.variant && state.nodes.has(p.id))
    .map((p) => showVariant(state.nodes.get(p.id), p.variant)));
  renderItems();
  if (state.selected && !state.nodes.has(state.selected)) state.selected = null;
  select(state.selected);
}

// Half width and depth (plan metres) of a product from its model, unturned.
function halfSize(node) {
  const keep = node.rotation.y;
  node.rotation.y = 0;
  node.updateMatrixWorld(true);
  const size = new THREE.Box3().setFromObject(node).getSize(new THREE.Vector3());
  node.rotation.y = keep;
  node.updateMatrixWorld(true);
  return [size.x / 2, size.z / 2, size.y];
}

const placement = (id) => state.design.placements.find((p) => p.id === id);
// The selected product's name (once the catalog has told it), where it stands and its turn.
function showSelectedName() {
  const p = state.selected && placement(state.selected);
  if (!p) return;
  $("sel-name").textContent = t("moved", { name: `${nameOf(p)} (${p.sku})`, x: p.position[0].toFixed(2), y: p.position[1].toFixed(2), r: Math.round(p.rotation) });
}
function nameOf(p) {
  const item = state.catalog.get(p.sku);
  return item ? productName(item) : p.sku;
}

// --- the items list (keyboard and screen readers reach every product here) ---

function renderItems() {
  $("items").replaceChildren(...state.design.placements.map((p) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.placement = p.id;
    button.textContent = `${nameOf(p)} · ${p.sku}`;
    button.setAttribute("aria-pressed", String(p.id === state.selected));
    button.onclick = () => { select(p.id); $("view").focus(); };
    li.append(button);
    return li;
  }));
}

function select(id) {
  state.selected = id && state.nodes.has(id) ? id : null;
  for (const b of $("items").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.placement === state.selected));
  $("selected").hidden = !state.selected;
  showHighlights();
  if (!state.selected) return;
  const p = placement(state.selected);
  showSelectedName();
  $("product-link").href = `product.html?sku=${encodeURIComponent(p.sku)}`;
  $("rot-left").onclick = () => turn(-1);
  $("rot-right").onclick = () => turn(1);
  $("remove").onclick = () => removeSelected();
  loadVariants(p);
}

// --- moving and turning ---

function planPoint(event) {
  const rect = $("view").getBoundingClientRect();
  const ndc = new THREE.Vector2(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
  const ray = new THREE.Raycaster();
  ray.setFromCamera(ndc, camera);
  return { ray, hit: ray.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 1, 0), 0), new THREE.Vector3()) };
}

function pick(ray) {
  for (const hit of ray.intersectObject(root, true)) {
    for (let node = hit.object; node; node = node.parent) {
      if (node.userData?.placement_id) return node.userData.placement_id;
    }
  }
  return null;
}

// One finger (or the mouse) drags a product; a second finger twisting around the first turns
// it in 15° steps. Elsewhere a drag looks around (OrbitControls) and a tap picks where to fit.
function bindPointer(canvas) {
  let drag = null;
  let tap = null;
  const screenAngle = (a, b) => (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI;
  canvas.addEventListener("pointerdown", (event) => {
    if (!root) return;
    if (drag && event.pointerId !== drag.pointer) { // the second finger: twist to turn
      drag.twist = { pointer: event.pointerId, from: screenAngle(drag.at, { x: event.clientX, y: event.clientY }),
                     rotation: placement(drag.id).rotation };
      return;
    }
    const { ray, hit } = planPoint(event);
    const id = pick(ray);
    if (!id) {
      tap = { x: event.clientX, y: event.clientY, ray: ray.ray.clone(), hit };
      return;
    }
    select(id);
    controls.enabled = false;
    canvas.setPointerCapture(event.pointerId);
    const p = placement(id);
    drag = { id, pointer: event.pointerId, at: { x: event.clientX, y: event.clientY },
             offset: hit ? [p.position[0] - hit.x, p.position[1] - hit.z] : [0, 0], moved: false, twist: null };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    if (drag.twist && event.pointerId === drag.twist.pointer) {
      // screen angles grow clockwise; a turn about +Y seen from above grows anticlockwise
      const delta = screenAngle(drag.at, { x: event.clientX, y: event.clientY }) - drag.twist.from;
      const p = placement(drag.id);
      const next = turned(drag.twist.rotation, -Math.round(delta / 15));
      if (next !== p.rotation) {
        drag.moved = true;
        turnTo(drag.id, next);
      }
      return;
    }
    if (event.pointerId !== drag.pointer) return;
    drag.at = { x: event.clientX, y: event.clientY };
    if (drag.twist) return; // two fingers: turning, not moving
    const { hit } = planPoint(event);
    if (!hit) return;
    drag.moved = true;
    moveTo(drag.id, [hit.x + drag.offset[0], hit.z + drag.offset[1]], placement(drag.id).rotation, true);
  });
  const end = (event) => {
    if (tap && Math.hypot(event.clientX - tap.x, event.clientY - tap.y) < 6) tapped(tap);
    tap = null;
    if (drag?.twist && event.pointerId === drag.twist.pointer) { drag.twist = null; return; }
    if (!drag || event.pointerId !== drag.pointer) return;
    controls.enabled = true;
    if (drag.moved) save();
    drag = null;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

// A tap on a wall or on the floor (not a drag to look around) says where the catalog should fit.
function tapped(tap) {
  if (!state.plan) { state.earlyTap = tap; return null; } // answered once the plan has come
  const { ray, hit } = tap;
  const caster = new THREE.Raycaster(ray.origin, ray.direction);
  const first = caster.intersectObject(root, true)[0];
  if (first && first.object.name === "walls") {
    const p = [first.point.x, first.point.z];
    let best = null;
    for (const wall of state.plan.walls) {
      const [ax, ay] = wall.start, [bx, by] = wall.end;
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const s = Math.max(0, Math.min(1, ((p[0] - ax) * (bx - ax) + (p[1] - ay) * (by - ay)) / len2));
      const d = Math.hypot(p[0] - (ax + s * (bx - ax)), p[1] - (ay + s * (by - ay)));
      if (!best || d < best.d) best = { d, wall };
    }
    if (best) return loadCatalog(`wall:${best.wall.id}`);
  } else if (hit) {
    state.spot = [hit.x, hit.z];
    return loadCatalog("spot");
  }
  return null;
}

function bindKeys(canvas) {
  canvas.addEventListener("keydown", (event) => {
    if (!state.selected) return;
    const p = placement(state.selected);
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (steps) {
      event.preventDefault();
      const step = event.shiftKey ? 0.5 : 0.05;
      moveTo(state.selected, [p.position[0] + steps[0] * step, p.position[1] + steps[1] * step], p.rotation, false);
      save();
    } else if (event.key === "[" || event.key === "]") {
      event.preventDefault();
      turn(event.key === "[" ? -1 : 1);
    } else if (event.key === "Delete") {
      removeSelected();
    }
  });
}

function moveTo(id, point, rotation, snapToWalls) {
  const node = state.nodes.get(id);
  const [, halfDepth] = halfSize(node);
  const walls = snapToWalls && state.plan ? state.plan.walls : [];
  const done = snap(point, rotation, halfDepth, walls);
  place(id, done.position, done.rotation);
}

// Turning keeps the product where it stands (no grid snap of its position).
function turnTo(id, rotation) {
  place(id, placement(id).position, rotation);
}

function place(id, position, rotation) {
  const node = state.nodes.get(id);
  const p = placement(id);
  p.position = position;
  p.rotation = rotation;
  node.position.x = p.position[0];
  node.position.z = p.position[1];
  node.rotation.y = THREE.MathUtils.degToRad(p.rotation);
  showSelectedName();
  showHighlights();
}

function turn(steps) {
  turnTo(state.selected, turned(placement(state.selected).rotation, steps));
  save();
}

async function removeSelected() {
  const id = state.selected;
  state.design.placements = state.design.placements.filter((p) => p.id !== id);
  state.selected = null;
  await save(true);
}

// --- saving: If-Match with the ETag we read; 412 is someone else's newer version ---

function save(reloadScene = false) {
  state.saving = state.saving.then(() => saveNow(reloadScene));
  return state.saving;
}

async function saveNow(reloadScene) {
  if (probe.conflict) return;
  say(t("saving"));
  const base = `/v1/designs/${encodeURIComponent(state.designId)}`;
  try {
    const body = { placements: state.design.placements };
    takeDesign(await request("PUT", base, body, undefined, { "If-Match": state.etag }));
    say(t("saved", { v: state.design.version }));
    if (reloadScene) await showScene(await binary(`${base}/scene.glb?profile=planner`));
    else renderItems();
    await Promise.all([loadChecks(), loadBom(), loadCatalog()]); // free runs along walls changed
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) {
      await conflict(base);
    } else {
      say(t("error", { msg: err.message }));
    }
  }
}

// Undo the last change (a new version holding what was before), with the same If-Match care.
async function undo() {
  if (probe.conflict) return;
  const base = `/v1/designs/${encodeURIComponent(state.designId)}`;
  try {
    takeDesign(await request("POST", `${base}/undo`, undefined, undefined, { "If-Match": state.etag }));
    say(t("undone", { v: state.design.version }));
    await showScene(await binary(`${base}/scene.glb?profile=planner`));
    await Promise.all([loadChecks(), loadBom(), loadCatalog()]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) return conflict(base);
    say(t("error", { msg: err.message }));
  }
}

async function conflict(base) {
  const latest = await request("GET", base);
  probe.conflict = true;
  $("conflict-text").textContent = t("conflict", { v: latest.data.version });
  $("conflict").hidden = false;
  $("reload").onclick = () => location.reload();
  $("reload").focus();
  say(t("conflict", { v: latest.data.version }));
}

// --- checks on the items ---

async function loadChecks() {
  const { data } = await request("GET", `/v1/designs/${encodeURIComponent(state.designId)}/checks`);
  state.findings = data;
  renderFindings();
  showHighlights();
}

function renderFindings() {
  if (!state.findings.length) {
    const li = document.createElement("li");
    li.textContent = t("no_findings");
    $("findings").replaceChildren(li);
  } else {
    $("findings").replaceChildren(...state.findings.map((f) => {
      const li = document.createElement("li");
      li.className = `finding ${f.severity}`;
      li.dataset.check = f.check;
      li.dataset.placements = f.placement_ids.join(" ");
      li.tabIndex = 0;
      li.textContent = f.message;
      li.onclick = () => select(f.placement_ids[0]);
      li.onkeydown = (e) => { if (e.key === "Enter") select(f.placement_ids[0]); };
      return li;
    }));
  }
}

function showHighlights() {
  invalidate();
  for (const helper of state.helpers) scene.remove(helper);
  state.helpers = [];
  const tags = [];
  const worst = new Map();
  for (const f of state.findings) {
    for (const id of f.placement_ids) {
      if (worst.get(id) !== "error") worst.set(id, f.severity);
    }
  }
  for (const [id, node] of state.nodes) {
    const colour = worst.has(id) ? (worst.get(id) === "error" ? 0xd0021b : 0xe08a00) : id === state.selected ? 0x0b5cad : null;
    if (colour === null) continue;
    const helper = new THREE.BoxHelper(node, colour);
    scene.add(helper);
    state.helpers.push(helper);
    if (worst.has(id)) { // the tag says the worst finding (errors before warnings), and how many more
      const messages = state.findings.filter((f) => f.placement_ids.includes(id))
        .sort((a, b) => (b.severity === "error") - (a.severity === "error")).map((f) => f.message);
      tags.push({ id, node, text: messages[0] + (messages.length > 1 ? ` (+${messages.length - 1})` : ""), severity: worst.get(id) });
    }
  }
  $("labels").replaceChildren(...tags.map((tag) => {
    const div = document.createElement("div");
    div.className = `tag ${tag.severity}`;
    div.textContent = tag.text;
    div.dataset.placement = tag.id;
    div.node = tag.node;
    return div;
  }));
}

// Each tag over its product's top, kept whole inside the view (above the help line) and clear
// of the tags placed before it: nearest the product first, pushed down (or else up) past others.
function placeTags() {
  const canvas = $("view");
  const width = canvas.clientWidth;
  const height = canvas.clientHeight - $("view-help").offsetHeight;
  const placed = [];
  const tags = [...$("labels").children].map((div) => {
    const box = new THREE.Box3().setFromObject(div.node);
    const top = box.getCenter(new THREE.Vector3());
    top.y = box.max.y;
    top.project(camera);
    return { div, x: ((top.x + 1) / 2) * width, y: ((1 - top.y) / 2) * canvas.clientHeight, w: div.offsetWidth, h: div.offsetHeight };
  }).sort((a, b) => a.y - b.y);
  const clear = (r) => placed.find((o) => r.left < o.left + o.w + 4 && o.left < r.left + r.w + 4
    && r.top < o.top + o.h + 4 && o.top < r.top + r.h + 4);
  for (const tag of tags) {
    const left = Math.max(0, Math.min(width - tag.w, tag.x - tag.w / 2));
    const start = Math.max(0, Math.min(height - tag.h, tag.y - tag.h));
    const spot = { left, top: start, w: tag.w, h: tag.h };
    for (let hit = clear(spot); hit && spot.top <= height - tag.h; hit = clear(spot)) spot.top = hit.top + hit.h + 4;
    if (spot.top > height - tag.h) { // no room below: from the product upwards
      spot.top = start;
      for (let hit = clear(spot); hit && spot.top >= 0; hit = clear(spot)) spot.top = hit.top - tag.h - 4;
      spot.top = Math.max(0, spot.top);
    }
    placed.push(spot);
    tag.div.style.left = `${spot.left}px`;
    tag.div.style.top = `${spot.top}px`;
  }
}

// --- the plan's rooms: their names on their floors, the sides no scan covered ---
// A RoomPlan import keeps each room's label (kitchen, bedroom…, named in both languages) and
// the stretches of its outline with no wall along them (``unscanned``): drawn as red dashes
// on the floor, and said in the Rooms panel, as the import's note says them.

const STOREY_HEIGHT = 3.0; // floorplans/scene.py: storey n's floor is n × 3 m up
const DASH = 0.3, GAP = 0.2; // metres
let roomMarks = null;

const storeyCount = () => new Set((state.plan?.rooms || []).map((r) => r.storey)).size;
function roomTitle(room) {
  const name = lang === "zh-CN" && room.name_zh ? room.name_zh : room.name;
  return storeyCount() > 1 ? t("room_storey", { name, n: room.storey + 1 }) : name;
}
function polygonArea(poly) {
  let twice = 0;
  poly.forEach(([x, y], i) => { const [u, v] = poly[(i + 1) % poly.length]; twice += x * v - u * y; });
  return twice / 2;
}
// Where a room's name goes: its outline's centre of area (the corners' mean if it has none).
function roomCentre(poly) {
  const a = polygonArea(poly);
  if (Math.abs(a) < 1e-9) return poly.reduce(([sx, sy], [x, y]) => [sx + x / poly.length, sy + y / poly.length], [0, 0]);
  let cx = 0, cy = 0;
  poly.forEach(([x, y], i) => {
    const [u, v] = poly[(i + 1) % poly.length];
    const k = x * v - u * y;
    cx += (x + u) * k;
    cy += (y + v) * k;
  });
  return [cx / (6 * a), cy / (6 * a)];
}
const unscannedLength = (room) => (room.unscanned || []).reduce((sum, [a, b]) => sum + Math.hypot(b[0] - a[0], b[1] - a[1]), 0);

function showRooms() {
  if (roomMarks) scene.remove(roomMarks);
  roomMarks = new THREE.Group();
  roomMarks.name = "unscanned";
  const material = new THREE.MeshBasicMaterial({ color: 0xd0021b });
  for (const room of state.plan.rooms) {
    for (const [a, b] of room.unscanned || []) {
      const dx = b[0] - a[0], dy = b[1] - a[1], length = Math.hypot(dx, dy);
      for (let at = 0; at < length; at += DASH + GAP) {
        const dash = Math.min(DASH, length - at);
        const mid = (at + dash / 2) / length;
        const mesh = new THREE.Mesh(new THREE.BoxGeometry(dash, 0.04, 0.12), material);
        mesh.position.set(a[0] + dx * mid, room.storey * STOREY_HEIGHT + 0.03, a[1] + dy * mid);
        mesh.rotation.y = -Math.atan2(dy, dx); // plan (x, y) is the scene's (x, z)
        roomMarks.add(mesh);
      }
    }
  }
  scene.add(roomMarks);
  renderRooms();
  invalidate();
}

function renderRooms() {
  const rooms = state.plan?.rooms || [];
  $("rooms-panel").hidden = !rooms.length;
  $("unscanned-legend").hidden = !rooms.some((r) => r.unscanned?.length);
  $("rooms").replaceChildren(...rooms.map((room) => {
    const li = document.createElement("li");
    li.className = "room";
    li.dataset.room = room.id;
    li.textContent = t("room_area", { name: roomTitle(room), area: Math.abs(polygonArea(room.polygon)).toFixed(1) });
    const missing = unscannedLength(room);
    if (missing > 0) {
      li.dataset.unscanned = missing.toFixed(1);
      li.append(Object.assign(document.createElement("span"), { className: "note", textContent: t("unscanned_note", { len: missing.toFixed(1) }) }));
    }
    return li;
  }));
  $("room-labels").replaceChildren(...rooms.map((room) => {
    const div = document.createElement("div");
    div.className = room.unscanned?.length ? "room-tag unscanned" : "room-tag";
    div.textContent = roomTitle(room);
    div.dataset.room = room.id;
    const [x, y] = roomCentre(room.polygon);
    div.at = new THREE.Vector3(x, room.storey * STOREY_HEIGHT + 0.05, y);
    return div;
  }));
  invalidate();
}

// Each room's name over its floor's centre; hidden when that is behind the camera.
function placeRoomTags() {
  const canvas = $("view");
  for (const div of $("room-labels").children) {
    const v = div.at.clone().project(camera);
    div.hidden = v.z > 1 || Math.abs(v.x) > 1 || Math.abs(v.y) > 1;
    div.style.left = `${((v.x + 1) / 2) * canvas.clientWidth}px`;
    div.style.top = `${((1 - v.y) / 2) * canvas.clientHeight}px`;
  }
}

// --- bill of materials with stock ---

const money = (cents, currency) => new Intl.NumberFormat(lang, { style: "currency", currency, currencyDisplay: "narrowSymbol" }).format(cents / 100);

async function loadBom() {
  const { data } = await request("GET", `/v1/designs/${encodeURIComponent(state.designId)}/bom`);
  $("bom").tBodies[0].replaceChildren(...data.lines.map((line) => {
    const tr = document.createElement("tr");
    const stock = [];
    if (line.here) stock.push(`${t("here")} ${line.here.on_hand}`);
    if (line.online) stock.push(`${t("online")} ${line.online.on_hand}`);
    if (line.nearby.length) stock.push(`${t("nearby")}: ${line.nearby.slice(0, 2).map((s) => `${s.store} ${s.on_hand}`).join(", ")}`);
    const colour = line.variant ? ` (${colourLabel(line.colour, line.variant)})` : "";
    const cells = [`${line.name}${colour}`, String(line.quantity),
      money(line.total_cents, line.currency), stock.length ? stock : t("none_in_stock")];
    tr.replaceChildren(...cells.map((text) => {
      const td = document.createElement("td");
      if (Array.isArray(text)) { // stock: one line each, here, online, nearby
        td.replaceChildren(...text.map((part) => Object.assign(document.createElement("span"), { className: "line", textContent: part })));
      } else td.textContent = text;
      return td;
    }));
    if (!stock.length) tr.lastChild.className = "out";
    return tr;
  }));
  const foot = document.createElement("tr");
  foot.innerHTML = "<th></th><th></th><th></th><th></th>";
  foot.children[0].textContent = t("total");
  foot.children[2].textContent = money(data.total_cents, data.currency);
  $("bom").tFoot.replaceChildren(foot);
}

// --- colour variants: the models' KHR_materials_variants, carried into the scene GLB ---

// name -> [[mesh, material index]] for the meshes under a placement's node; `shown` is the
// variant whose materials the scene drew it with (the chosen one, or the model's own default)
function variantsOf(node) {
  const json = state.parser.json;
  const names = json.extensions?.KHR_materials_variants?.variants || [];
  const found = new Map();
  let shown = null;
  node.traverse((mesh) => {
    if (!mesh.isMesh) return;
    const assoc = state.parser.associations.get(mesh);
    const primitive = assoc && json.meshes[assoc.meshes]?.primitives[assoc.primitives];
    for (const mapping of primitive?.extensions?.KHR_materials_variants?.mappings || []) {
      for (const v of mapping.variants) {
        const name = names[v]?.name;
        if (!name) continue;
        if (!found.has(name)) found.set(name, []);
        found.get(name).push([mesh, mapping.material]);
        if (shown === null && mapping.material === primitive.material) shown = name;
      }
    }
  });
  found.shown = shown;
  return found;
}

async function showVariant(node, name) {
  const variants = variantsOf(node);
  node.traverse((mesh) => {
    if (!mesh.isMesh) return;
    mesh.userData.standard ??= mesh.material;
    mesh.material = mesh.userData.standard;
  });
  for (const [mesh, index] of variants.get(name) || []) {
    mesh.material = await state.parser.getDependency("material", index);
  }
  invalidate();
}

// A product's colours in both languages, from its catalog item (the model's variants)
const colourNames = new Map();
async function coloursOf(sku) {
  if (!colourNames.has(sku)) {
    colourNames.set(sku, fetch(`/v1/skus/${encodeURIComponent(sku)}`)
      .then((r) => (r.ok ? r.json() : null))
      .then((item) => new Map((item?.model?.colours || []).map((c) => [c.name, c])))
      .catch(() => new Map()));
  }
  return colourNames.get(sku);
}

function colourLabel(colour, name) {
  return colour ? (lang === "zh-CN" ? colour.zh : colour.en) : name;
}

async function loadVariants(p) {
  const node = state.nodes.get(p.id);
  const variants = variantsOf(node);
  const names = [...variants.keys()];
  $("variant-row").hidden = !names.length;
  if (!names.length) return;
  const select = $("variant");
  const colours = await coloursOf(p.sku);
  // every colour is a real one: the model's default is named, not "standard"
  const choices = variants.shown ? names : [null, ...names];
  select.replaceChildren(...choices.map((name) => {
    const option = document.createElement("option");
    option.value = name ?? "";
    option.textContent = name === null ? t("default_variant") : colourLabel(colours.get(name), name);
    return option;
  }));
  select.value = p.variant ?? variants.shown ?? "";
  select.onchange = async () => {
    p.variant = select.value || null;
    await showVariant(node, p.variant);
    save();
  };
}

// --- catalog: only what fits along a wall or at the spot last tapped ---

// What stands in the room now: each placement's footprint, from its model's size (else the
// catalog's).
function footprints() {
  return state.design.placements.flatMap((p) => {
    const node = state.nodes.get(p.id), item = state.catalog.get(p.sku);
    const [hw, hd] = node ? halfSize(node) : item?.width_mm ? [item.width_mm / 2000, item.depth_mm / 2000] : [0, 0];
    return hw && hd ? [corners(p.position, p.rotation, 2 * hw, 2 * hd)] : [];
  });
}

const roomName = (room) => (lang === "zh-CN" && room.name_zh ? room.name_zh : room.name);

// One choice per wall and room it bounds: the room with the longest free run is the wall's own
// choice (wall:ID); the wall's other rooms follow (wall:ID@ROOM).
function wallOptions() {
  if (!state.plan) return [];
  const items = footprints(), out = [];
  for (const wall of state.plan.walls) {
    const runs = wallRuns(wall, state.plan.rooms, state.plan.openings || [], items)
      .filter((r) => r.stretch >= 0.6).sort((a, b) => b.free - a.free);
    runs.forEach((run, i) => out.push({ value: i ? `wall:${wall.id}@${run.room.id}` : `wall:${wall.id}`, run: { ...run, wall } }));
  }
  return out;
}

async function loadCatalog(wanted) {
  const fit = $("fit");
  const chosen = typeof wanted === "string" ? wanted : fit.value;
  const options = [["any", t("fit_any")]];
  if (state.spot && state.plan) {
    const free = freeAround(state.spot, state.plan.walls);
    options.push(["spot", t("fit_spot", { w: free.width.toFixed(2), d: free.depth.toFixed(2) })]);
  }
  state.wallRuns = new Map();
  for (const { value, run } of wallOptions()) {
    state.wallRuns.set(value, run);
    options.push([value, t("fit_wall", { wall: run.wall.id, room: roomName(run.room), len: run.free.toFixed(1) })]);
  }
  fit.replaceChildren(...options.map(([value, label]) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    return option;
  }));
  fit.value = options.some(([v]) => v === chosen) ? chosen : "any";
  fit.onchange = loadCatalog;
  const asked = (state.catalogAsked = (state.catalogAsked || 0) + 1);
  const query = new URLSearchParams({ limit: "40", placeable: "true" }); // not consumables
  if (fit.value.startsWith("wall:")) {
    const run = state.wallRuns.get(fit.value);
    query.set("floor_plan_id", state.design.floor_plan_id);
    query.set("wall_id", run.wall.id);
    query.set("width_max", String(Math.floor(run.free * 1000))); // the free run, not the wall
  } else if (fit.value === "spot") {
    const free = freeAround(state.spot, state.plan.walls);
    query.set("width_max", String(Math.floor(free.width * 1000)));
    query.set("depth_max", String(Math.floor(free.depth * 1000)));
  }
  const { data } = await request("GET", `/v1/search?${query}`);
  if (asked !== state.catalogAsked) return; // a newer choice is on its way
  for (const item of data.items) state.catalog.set(item.sku, item);
  showSelectedName();
  const items = data.items.filter((item) => item.width_mm && item.depth_mm);
  if (!items.length) {
    const li = document.createElement("li");
    li.textContent = t("no_models");
    $("catalog").replaceChildren(li);
    return;
  }
  $("catalog").replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.sku = item.sku;
    // its name is its visible text (WCAG 2.5.3), under the "Add a product" heading; the "+" is decoration
    const plus = Object.assign(document.createElement("span"), { className: "plus", textContent: "+" });
    plus.setAttribute("aria-hidden", "true");
    button.replaceChildren(plus, `${productName(item)} · ${t("size_mm", { w: item.width_mm, d: item.depth_mm })}`);
    button.onclick = () => add(item, fit.value);
    li.append(button);
    return li;
  }));
  renderItems();
}

async function add(item, where) {
  let position = null, rotation = 0;
  const halfDepth = item.depth_mm / 2000;
  const run = state.wallRuns?.get(where);
  if (run) { // in the middle of the wall's free run in that room, its back to the wall
    const { wall, normal: n } = run;
    const len = Math.hypot(wall.end[0] - wall.start[0], wall.end[1] - wall.start[1]);
    const t0 = (run.from + run.to) / 2;
    const mid = [wall.start[0] + ((wall.end[0] - wall.start[0]) * t0) / len,
      wall.start[1] + ((wall.end[1] - wall.start[1]) * t0) / len];
    const off = wall.thickness / 2 + halfDepth;
    position = [mid[0] + n[0] * off, mid[1] + n[1] * off];
    rotation = ((Math.atan2(n[0], n[1]) * 180) / Math.PI + 360) % 360;
  } else if (state.spot) {
    position = [onGrid(state.spot[0]), onGrid(state.spot[1])];
  } else {
    const room = state.plan.rooms[0].polygon;
    position = [onGrid(room.reduce((s, c) => s + c[0], 0) / room.length), onGrid(room.reduce((s, c) => s + c[1], 0) / room.length)];
  }
  const id = `k${Date.now().toString(36)}`;
  state.design.placements.push({ id, sku: item.sku, variant: null, position: position.map((v) => Math.round(v * 1000) / 1000), rotation: Math.round(rotation * 100) / 100, storey: 0 });
  state.selected = id;
  await save(true);
}

// --- handing the design to the customer's phone ---

async function handOff() {
  try {
    const { data } = await request("POST", `/v1/designs/${encodeURIComponent(state.designId)}/handoff`);
    await showQr(`${location.origin}/v1/handoffs/${data.code}`, data.code, data.expires_at, t("qr_title"));
  } catch (err) { say(t("error", { msg: err.message })); }
}

// --- VR where WebXR offers it ---

async function offerVr() {
  const xr = navigator.xr;
  if (!xr || !(await xr.isSessionSupported("immersive-vr").catch(() => false))) return;
  $("vr").hidden = false;
  $("vr").onclick = async () => {
    try {
      const session = await xr.requestSession("immersive-vr", { optionalFeatures: ["local-floor"] });
      await renderer.xr.setSession(session);
    } catch { say(t("vr_unavailable")); }
  };
}

start();
