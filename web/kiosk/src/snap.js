// Pure placement geometry in plan metres: plan (x, y) is the scene's (x, z); a rotation r (degrees
// about Y) turns the product's front, local +y, to (sin r, cos r). No three.js here.
export const GRID = 0.05;
export const STEP_DEG = 15;
export const WALL_SNAP = 0.2;

export const onGrid = (v) => Math.round(v / GRID) * GRID;
export const turned = (deg, steps) => ((Math.round(deg / STEP_DEG) + steps) * STEP_DEG % 360 + 360) % 360;

function nearestOnSegment(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const s = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return [a[0] + s * dx, a[1] + s * dy, s];
}

// The product (half depth `halfDepth`) dropped at p: on the 5 cm grid, or backed against the
// nearest wall face when its back comes within WALL_SNAP of it (turned to face into the room).
// Only a wall its back already turns to (within 45°) counts: its depth is measured front to
// back, so beside a wall (a bed's long side) it is not the product's reach towards it.
export function snap(p, rotation, halfDepth, walls) {
  const rad = (rotation * Math.PI) / 180;
  const front = [Math.sin(rad), Math.cos(rad)];
  let best = null;
  for (const wall of walls) {
    const [qx, qy, s] = nearestOnSegment(p, wall.start, wall.end);
    if (s <= 0 || s >= 1) continue;
    const dist = Math.hypot(p[0] - qx, p[1] - qy);
    if (dist <= 1e-6) continue;
    const n = [(p[0] - qx) / dist, (p[1] - qy) / dist]; // from the wall towards the product
    if (front[0] * n[0] + front[1] * n[1] < Math.SQRT1_2 - 1e-9) continue; // not its back
    const gap = dist - wall.thickness / 2 - halfDepth;
    if (Math.abs(gap) <= WALL_SNAP && (!best || Math.abs(gap) < Math.abs(best.gap))) {
      best = { gap, n, q: [qx, qy], wall };
    }
  }
  if (!best) return { position: [onGrid(p[0]), onGrid(p[1])], rotation, wall: null };
  const off = best.wall.thickness / 2 + halfDepth;
  const rot = ((Math.atan2(best.n[0], best.n[1]) * 180) / Math.PI + 360) % 360;
  // along the wall the grid still applies; across it the product touches the face
  const along = [best.wall.end[0] - best.wall.start[0], best.wall.end[1] - best.wall.start[1]];
  const len = Math.hypot(along[0], along[1]);
  const u = [along[0] / len, along[1] / len];
  const t = onGrid((best.q[0] - best.wall.start[0]) * u[0] + (best.q[1] - best.wall.start[1]) * u[1]);
  const base = [best.wall.start[0] + u[0] * t, best.wall.start[1] + u[1] * t];
  const round = (v) => Math.round(v * 1000) / 1000;
  return { position: [round(base[0] + best.n[0] * off), round(base[1] + best.n[1] * off)],
           rotation: Math.round(rot * 100) / 100, wall: best.wall.id };
}

// Free room around a spot along x and y: how far to the nearest wall face each way.
export function freeAround(p, walls) {
  const reach = { left: 20, right: 20, down: 20, up: 20 };
  for (const wall of walls) {
    const [ax, ay] = wall.start, [bx, by] = wall.end, h = wall.thickness / 2;
    if (Math.abs(ax - bx) < 1e-6 && Math.min(ay, by) <= p[1] && p[1] <= Math.max(ay, by)) {
      const d = ax - p[0];
      if (d > 0) reach.right = Math.min(reach.right, d - h); else reach.left = Math.min(reach.left, -d - h);
    } else if (Math.abs(ay - by) < 1e-6 && Math.min(ax, bx) <= p[0] && p[0] <= Math.max(ax, bx)) {
      const d = ay - p[1];
      if (d > 0) reach.up = Math.min(reach.up, d - h); else reach.down = Math.min(reach.down, -d - h);
    }
  }
  return { width: Math.max(0, reach.left + reach.right), depth: Math.max(0, reach.up + reach.down) };
}

// Which side of a wall is inside a room: the unit normal pointing there (or the left one).
export function roomSide(wall, rooms) {
  const dx = wall.end[0] - wall.start[0], dy = wall.end[1] - wall.start[1];
  const len = Math.hypot(dx, dy);
  const n = [-dy / len, dx / len];
  const mid = [(wall.start[0] + wall.end[0]) / 2, (wall.start[1] + wall.end[1]) / 2];
  const probe = [mid[0] + n[0] * (wall.thickness / 2 + 0.1), mid[1] + n[1] * (wall.thickness / 2 + 0.1)];
  return rooms.some((room) => inside(probe, room.polygon)) ? n : [-n[0], -n[1]];
}

export function inside(p, polygon) {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i], [xj, yj] = polygon[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

// The corners of a product standing at `position`, turned `rotation` degrees (its front is
// local +y), `width` × `depth` metres.
export function corners(position, rotation, width, depth) {
  const rad = (rotation * Math.PI) / 180;
  const front = [Math.sin(rad), Math.cos(rad)], right = [Math.cos(rad), -Math.sin(rad)];
  return [[1, 1], [1, -1], [-1, -1], [-1, 1]].map(([a, b]) => [
    position[0] + (a * right[0] * width + b * front[0] * depth) / 2,
    position[1] + (a * right[1] * width + b * front[1] * depth) / 2]);
}

// Where a wall runs along each room it bounds, and how much of that is free: the stretch of the
// wall inside the room (from the room's outline along the wall), less its doors and passages and
// less what already stands against it there. One entry per room the wall bounds, with the
// longest free run (metres along the wall from its start), the room's side (a unit normal) and
// the free metres of that run. `items` are footprints: arrays of plan corners.
export function wallRuns(wall, rooms, openings, items) {
  const dx = wall.end[0] - wall.start[0], dy = wall.end[1] - wall.start[1];
  const length = Math.hypot(dx, dy);
  if (length < 1e-6) return [];
  const u = [dx / length, dy / length], normal = [-u[1], u[0]];
  const along = (p) => (p[0] - wall.start[0]) * u[0] + (p[1] - wall.start[1]) * u[1];
  const across = (p) => (p[0] - wall.start[0]) * normal[0] + (p[1] - wall.start[1]) * normal[1];
  const near = wall.thickness / 2 + 0.05;
  const blocked = openings.filter((o) => o.wall_id === wall.id && o.kind !== "window")
    .map((o) => [o.offset - o.width / 2, o.offset + o.width / 2]);
  const runs = [];
  for (const room of rooms) {
    if ((room.storey ?? 0) !== (wall.storey ?? 0)) continue;
    const poly = room.polygon;
    const spans = [];
    for (let i = 0; i < poly.length; i++) {
      const a = poly[i], b = poly[(i + 1) % poly.length];
      if (Math.abs(across(a)) > near || Math.abs(across(b)) > near) continue;
      const lo = Math.max(0, Math.min(along(a), along(b))), hi = Math.min(length, Math.max(along(a), along(b)));
      if (hi - lo > 0.05) spans.push([lo, hi]);
    }
    if (!spans.length) continue;
    // the room's side of the wall: a point just off the wall's middle stretch in this room
    const [lo0, hi0] = spans[0], mid = (lo0 + hi0) / 2;
    const probe = (s) => [wall.start[0] + u[0] * mid + normal[0] * s, wall.start[1] + u[1] * mid + normal[1] * s];
    const side = inside(probe(near + 0.05), poly) ? 1 : -1;
    const taken = [...blocked];
    for (const footprint of items) {
      const off = footprint.map((c) => across(c) * side);
      // stands against this face of the wall (its nearest corner within 30 cm of the face)
      if (Math.min(...off) > wall.thickness / 2 + 0.3 || Math.max(...off) < 0) continue;
      const centre = [footprint.reduce((s, c) => s + c[0], 0) / 4, footprint.reduce((s, c) => s + c[1], 0) / 4];
      if (!inside(centre, poly)) continue;
      const ts = footprint.map(along);
      taken.push([Math.min(...ts), Math.max(...ts)]);
    }
    let best = null;
    for (const [lo, hi] of spans) {
      let cuts = [[lo, hi]];
      for (const [a, b] of taken) {
        cuts = cuts.flatMap(([x, y]) => (b <= x || a >= y ? [[x, y]] : [[x, Math.max(x, a)], [Math.min(y, b), y]]))
          .filter(([x, y]) => y - x > 1e-6);
      }
      for (const [x, y] of cuts) if (!best || y - x > best.to - best.from) best = { from: x, to: y };
    }
    const stretch = spans.reduce((s, [a, b]) => s + b - a, 0);
    runs.push({ room, stretch, from: best?.from ?? spans[0][0], to: best?.to ?? spans[0][0],
                free: best ? best.to - best.from : 0, normal: [normal[0] * side, normal[1] * side] });
  }
  return runs;
}
