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
