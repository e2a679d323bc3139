/**
 * Built-in 10-20 / 10-10 electrode positions on an idealised spherical head, derived from the
 * system's geometric definition rather than read from a coordinate file.
 *
 * Frame: unit sphere, x towards the right ear, y towards the nose, z up; Cz is the north pole.
 * The nasion (Nz), inion (Iz) and the two pre-auricular points (T9/T10 in the 10-10 system) lie
 * on the equator, so the nasion–inion and the pre-auricular great circles over Cz are each 180°
 * long and every 10 % step along them is 18°.
 *
 *  - Midline: Nz, Fpz, AFz, Fz, FCz, Cz, CPz, Pz, POz, Oz, Iz at 0, 10, 20 ... 100 % of the
 *    nasion–inion arc (sagittal angle 0°, 18°, ... 180° from the nose).
 *  - Circumference through Fpz, T7, Oz, T8 (the "10 % ring", 18° above the equator): each half is
 *    cut in ten 18° steps of azimuth: Fp1 18°, AF7 36°, F7 54°, FT7 72°, T7 90°, TP7 108°, P7 126°,
 *    PO7 144°, O1 162° (azimuth measured around the vertical axis from the nose).
 *  - The equator (0 % ring) holds the "9/10" positions at the same azimuths: AF9, F9, FT9, T9, TP9,
 *    P9, PO9, O9 (and Nz, Iz).
 *  - Each coronal-ish row (AF, F, FC, C, CP, P, PO) runs from its midline point to its 10 %-ring
 *    point along the great-circle arc between them; the 10-20 rule "F3 halfway between Fz and F7"
 *    becomes 1, 3, 5 at a quarter, half and three quarters of that arc (2, 4, 6 mirrored). On the
 *    C row this reproduces the pre-auricular arc exactly (C1, C3, C5 18°, 36°, 54° from Cz).
 *
 * Old 10-20 names T3/T4/T5/T6 are T7/T8/P7/P8; SEED's cerebellar CB1/CB2 (below O1/O2 at inion
 * level) are placed at O9/O10.
 */

/** Unit vector [x, y, z]: x right, y nose, z up. */
export type Vec3 = readonly [number, number, number];

const DEG = Math.PI / 180;
/** Elevation of the 10 % ring above the equator (one 10 % step of a 180° arc). */
const RING_ELEVATION = 18;

/** Point on the midline at `s` degrees from the nasion along the nasion–inion arc. */
function midline(s: number): Vec3 {
  return [0, Math.cos(s * DEG), Math.sin(s * DEG)];
}

/** Point at `azimuth` degrees from the nose around the vertical axis and `elevation` above the equator; side -1 left, +1 right. */
function onRing(azimuth: number, elevation: number, side: -1 | 1): Vec3 {
  const c = Math.cos(elevation * DEG);
  return [side * Math.sin(azimuth * DEG) * c, Math.cos(azimuth * DEG) * c, Math.sin(elevation * DEG)];
}

/** Point at fraction t of the great-circle arc from a to b (both unit vectors). */
function slerp(a: Vec3, b: Vec3, t: number): Vec3 {
  const dot = Math.min(1, Math.max(-1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
  const omega = Math.acos(dot);
  if (omega < 1e-12) return a;
  const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const wb = Math.sin(t * omega) / Math.sin(omega);
  const p: [number, number, number] = [wa * a[0] + wb * b[0], wa * a[1] + wb * b[1], wa * a[2] + wb * b[2]];
  const norm = Math.hypot(p[0], p[1], p[2]);
  return [p[0] / norm, p[1] / norm, p[2] / norm];
}

function mirror(p: Vec3): Vec3 {
  return [-p[0], p[1], p[2]];
}

interface Row {
  /** Prefix of the numbered positions (AF3, FC5 ...). */
  readonly prefix: string;
  /** Degrees from the nasion of the midline point, and azimuth of the row's ring points. */
  readonly angle: number;
  /** Names of the 10 %-ring and equator points on the left (right: number + 1). */
  readonly ring: [string, number];
  readonly equator: [string, number];
}

const ROWS: readonly Row[] = [
  { prefix: 'AF', angle: 36, ring: ['AF', 7], equator: ['AF', 9] },
  { prefix: 'F', angle: 54, ring: ['F', 7], equator: ['F', 9] },
  { prefix: 'FC', angle: 72, ring: ['FT', 7], equator: ['FT', 9] },
  { prefix: 'C', angle: 90, ring: ['T', 7], equator: ['T', 9] },
  { prefix: 'CP', angle: 108, ring: ['TP', 7], equator: ['TP', 9] },
  { prefix: 'P', angle: 126, ring: ['P', 7], equator: ['P', 9] },
  { prefix: 'PO', angle: 144, ring: ['PO', 7], equator: ['PO', 9] },
];

function buildMontage(): Map<string, Vec3> {
  const m = new Map<string, Vec3>();
  const pair = (left: string, right: string, p: Vec3): void => {
    m.set(left, p);
    m.set(right, mirror(p));
  };
  m.set('Nz', midline(0));
  m.set('Fpz', midline(18));
  m.set('Oz', midline(162));
  m.set('Iz', midline(180));
  pair('Fp1', 'Fp2', onRing(18, RING_ELEVATION, -1));
  pair('O1', 'O2', onRing(162, RING_ELEVATION, -1));
  pair('O9', 'O10', onRing(162, 0, -1));
  for (const row of ROWS) {
    const mid = midline(row.angle);
    m.set(`${row.prefix}z`, mid);
    const ring = onRing(row.angle, RING_ELEVATION, -1);
    pair(`${row.ring[0]}${row.ring[1]}`, `${row.ring[0]}${row.ring[1] + 1}`, ring);
    pair(`${row.equator[0]}${row.equator[1]}`, `${row.equator[0]}${row.equator[1] + 1}`, onRing(row.angle, 0, -1));
    // 1, 3, 5 at a quarter, half and three quarters of the arc from the midline to the ring.
    for (const k of [1, 3, 5]) pair(`${row.prefix}${k}`, `${row.prefix}${k + 1}`, slerp(mid, ring, (k + 1) / 8));
  }
  // Old 10-20 names and SEED's cerebellar electrodes.
  const alias: Record<string, string> = { T3: 'T7', T4: 'T8', T5: 'P7', T6: 'P8', CB1: 'O9', CB2: 'O10' };
  for (const [name, target] of Object.entries(alias)) m.set(name, m.get(target)!);
  return m;
}

const MONTAGE = buildMontage();
/** Lower-case key -> canonical label. */
const CANONICAL = new Map<string, string>([...MONTAGE.keys()].map((k) => [k.toLowerCase(), k]));

/** Lower-cased label without surrounding blanks and trailing dots (EEGMMIDB writes 'Fc5.', 'C3..'). */
function key(label: string): string {
  return label.trim().replace(/\.+$/, '').trim().toLowerCase();
}

/** The canonical spelling of a standard label ('FP1' -> 'Fp1', 'Fc5.' -> 'FC5'), undefined when unknown. */
export function canonicalLabel(label: string): string | undefined {
  return CANONICAL.get(key(label));
}

/** Unit-sphere position of a standard 10-20/10-10 label (tolerant spelling), undefined when unknown. */
export function electrodePosition(label: string): Vec3 | undefined {
  const c = canonicalLabel(label);
  return c === undefined ? undefined : MONTAGE.get(c);
}

/** Positions of several labels; throws naming every label that is not in the built-in montage. */
export function positionsFor(labels: readonly string[]): Vec3[] {
  const unknown: string[] = [];
  const out = labels.map((l) => {
    const p = electrodePosition(l);
    if (!p) unknown.push(`'${l}'`);
    return p ?? ([0, 0, 0] as Vec3);
  });
  if (unknown.length > 0) throw new Error(`montage: unknown electrode label${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (not in the built-in 10-20/10-10 montage)`);
  return out;
}

/** Every label the built-in montage knows (canonical spelling, aliases included). */
export function standardLabels(): string[] {
  return [...MONTAGE.keys()];
}
