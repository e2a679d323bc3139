/**
 * Electrode graph and bottom-up hierarchy (electrodes -> regions -> hemispheres) for the HiSTN-like
 * network, built from electrode positions on the unit sphere (src/ml/montage).
 *
 *  - Graph: each electrode is joined to its k nearest neighbours (chord distance; the relation is
 *    made symmetric by union) with Gaussian weights exp(-d^2 / (2 s^2)), s the median neighbour
 *    distance; self loops are added and the matrix normalised D^-1/2 (A + I) D^-1/2.
 *  - Regions: average-linkage agglomerative clustering of the positions, bottom-up, never merging
 *    across sides (left x < -eps, midline |x| <= eps, right x > eps), so every region lies in one
 *    hemisphere. Each side is clustered to its own number of regions, which keeps the hierarchy of
 *    a left/right symmetric montage symmetric. Ties are broken by an anatomical order of the
 *    electrodes (front to back, top to bottom, medial to lateral), the same on both sides.
 *  - Hemispheres: left, midline (only when there is a midline electrode), right.
 *
 * Everything here is plain data (JSON-serialisable) and deterministic.
 */
import { positionsFor, type Vec3 } from '../montage/standard-montage.js';

export type Side = 'left' | 'midline' | 'right';

export interface HierarchyOptions {
  /**
   * Number of regions. Default: at most three electrodes per region on average, counted per side
   * (ceil(n_side / 3), about C / 3 in all), at least 2 per lateral side and 1 on the midline when the side has that
   * many electrodes. An explicit number is split between the sides in proportion to their
   * electrode counts (at least one region per side present).
   */
  readonly regions?: number;
  /** Neighbours per electrode in the graph (default 4, at most C - 1). */
  readonly neighbours?: number;
  /** |x| at or below which an electrode counts as midline (default 0.05 on the unit sphere). */
  readonly midlineEpsilon?: number;
  /** Positions to use instead of the built-in montage (unit-sphere, x right, y nose, z up). */
  readonly positions?: readonly Vec3[];
}

export interface Region {
  /** e.g. "left-frontal", "right-parietal", "midline-central"; numbered when a side has two of a kind. */
  readonly name: string;
  readonly side: Side;
  /** Electrode indices (into `channels`), ascending. */
  readonly members: number[];
  readonly centroid: [number, number, number];
}

export interface Hemisphere {
  readonly name: Side;
  /** Region indices, ascending. */
  readonly regions: number[];
}

export interface ElectrodeHierarchy {
  readonly channels: string[];
  readonly positions: [number, number, number][];
  /** Side of each electrode. */
  readonly sides: Side[];
  /** C x C normalised adjacency D^-1/2 (A + I) D^-1/2 (symmetric). */
  readonly adjacency: number[][];
  /** Regions ordered left, midline, right, each side front to back. */
  readonly regions: Region[];
  /** C x R, 1 where electrode c belongs to region r. */
  readonly electrodeToRegion: number[][];
  readonly hemispheres: Hemisphere[];
  /** R x H, 1 where region r belongs to hemisphere h. */
  readonly regionToHemisphere: number[][];
}

const SIDES: readonly Side[] = ['left', 'midline', 'right'];

/** Builds the graph and the hierarchy for `channels` (standard labels, or any labels with `positions`). */
export function buildElectrodeHierarchy(channels: readonly string[], opts: HierarchyOptions = {}): ElectrodeHierarchy {
  const C = channels.length;
  if (C < 2) throw new Error(`hierarchy: need at least 2 electrodes, got ${C}`);
  const raw = opts.positions ?? positionsFor(channels);
  if (raw.length !== C) throw new Error(`hierarchy: ${raw.length} positions for ${C} channels`);
  const positions = raw.map((p, i) => {
    const n = Math.hypot(p[0], p[1], p[2]);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`hierarchy: position of '${channels[i]}' is not a usable vector`);
    return [p[0] / n, p[1] / n, p[2] / n] as [number, number, number];
  });
  const eps = opts.midlineEpsilon ?? 0.05;
  const sides: Side[] = positions.map((p) => (p[0] < -eps ? 'left' : p[0] > eps ? 'right' : 'midline'));
  const rank = anatomicalRank(positions);
  const dist = (a: number, b: number): number => chord(positions[a], positions[b]);

  const adjacency = graph(C, dist, rank, opts.neighbours ?? 4);

  // Regions per side, then clustering within each side.
  const bySide = SIDES.map((s) => sides.flatMap((x, i) => (x === s ? [i] : [])));
  const quotas = regionQuotas(
    bySide.map((m) => m.length),
    opts.regions,
    C,
  );
  const regions: Region[] = [];
  SIDES.forEach((side, si) => {
    const clusters = cluster(bySide[si], quotas[si], dist, rank);
    const withCentroids = clusters.map((members) => ({ members: [...members].sort((a, b) => a - b), centroid: centroid(members, positions) }));
    withCentroids.sort((a, b) => b.centroid[1] - a.centroid[1] || b.centroid[2] - a.centroid[2] || a.members[0] - b.members[0]);
    const lobes = withCentroids.map((r) => lobe(r.centroid));
    const counts = new Map<string, number>();
    withCentroids.forEach((r, i) => {
      const n = lobes.filter((l) => l === lobes[i]).length;
      const k = (counts.get(lobes[i]) ?? 0) + 1;
      counts.set(lobes[i], k);
      regions.push({ name: `${side}-${lobes[i]}${n > 1 ? `-${k}` : ''}`, side, members: r.members, centroid: r.centroid });
    });
  });

  const electrodeToRegion = Array.from({ length: C }, () => new Array<number>(regions.length).fill(0));
  regions.forEach((r, ri) => r.members.forEach((c) => (electrodeToRegion[c][ri] = 1)));
  const hemispheres: Hemisphere[] = SIDES.filter((s) => regions.some((r) => r.side === s)).map((s) => ({
    name: s,
    regions: regions.flatMap((r, i) => (r.side === s ? [i] : [])),
  }));
  const regionToHemisphere = regions.map((r) => hemispheres.map((h) => (h.name === r.side ? 1 : 0)));
  return { channels: [...channels], positions, sides, adjacency, regions, electrodeToRegion, hemispheres, regionToHemisphere };
}

function chord(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/**
 * Rank of each electrode in an order that is the same for mirror-image electrodes: front to back,
 * top to bottom, medial to lateral (then left before right, then index).
 */
function anatomicalRank(positions: readonly (readonly number[])[]): number[] {
  const r = (v: number): number => Math.round(v * 1e9);
  const order = positions.map((p, i) => ({ p, i })).sort((a, b) => r(b.p[1]) - r(a.p[1]) || r(b.p[2]) - r(a.p[2]) || r(Math.abs(a.p[0])) - r(Math.abs(b.p[0])) || r(a.p[0]) - r(b.p[0]) || a.i - b.i);
  const rank = new Array<number>(positions.length);
  order.forEach((o, k) => (rank[o.i] = k));
  return rank;
}

/** Normalised kNN Gaussian adjacency with self loops. */
function graph(C: number, dist: (a: number, b: number) => number, rank: readonly number[], k: number): number[][] {
  const K = Math.max(1, Math.min(Math.floor(k), C - 1));
  const nearest: number[][] = [];
  const kDistances: number[] = [];
  for (let i = 0; i < C; i++) {
    const others = [...Array(C).keys()].filter((j) => j !== i);
    others.sort((a, b) => dist(i, a) - dist(i, b) || rank[a] - rank[b]);
    nearest.push(others.slice(0, K));
    for (const j of nearest[i]) kDistances.push(dist(i, j));
  }
  kDistances.sort((a, b) => a - b);
  const s = Math.max(kDistances[Math.floor(kDistances.length / 2)], 1e-6);
  const A = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let i = 0; i < C; i++) {
    for (const j of nearest[i]) {
      const w = Math.exp(-(dist(i, j) ** 2) / (2 * s * s));
      A[i][j] = w;
      A[j][i] = w;
    }
    A[i][i] = 1;
  }
  const dInvSqrt = A.map((row) => 1 / Math.sqrt(row.reduce((a, b) => a + b, 0)));
  return A.map((row, i) => row.map((w, j) => w * dInvSqrt[i] * dInvSqrt[j]));
}

/** Regions per side (left, midline, right) for side sizes n. */
function regionQuotas(n: readonly number[], regions: number | undefined, C: number): number[] {
  const minimum = n.map((m, s) => Math.min(m, SIDES[s] === 'midline' ? 1 : 2));
  if (regions === undefined) return n.map((m, s) => Math.min(m, Math.max(minimum[s], Math.ceil(m / 3))));
  if (!Number.isInteger(regions) || regions < 1) throw new Error(`hierarchy: regions must be a positive integer, got ${regions}`);
  const present = n.map((m) => (m > 0 ? 1 : 0));
  const share = n.map((m) => (regions * m) / C);
  const q = n.map((m, s) => Math.min(m, Math.max(present[s], Math.round(share[s]))));
  const total = (): number => q.reduce((a, b) => a + b, 0);
  // Settle rounding on the side that is furthest off its share; the midline first on ties, which
  // keeps a symmetric montage's sides equal whenever the total allows it.
  const pick = (ok: (s: number) => boolean, excess: (s: number) => number): number => {
    let best = -1;
    for (const s of [1, 0, 2]) if (ok(s) && (best < 0 || excess(s) > excess(best) + 1e-12)) best = s;
    return best;
  };
  while (total() > regions) {
    const s = pick(
      (s) => q[s] > present[s],
      (s) => q[s] - share[s],
    );
    if (s < 0) break;
    q[s]--;
  }
  while (total() < regions) {
    const s = pick(
      (s) => q[s] < n[s],
      (s) => share[s] - q[s],
    );
    if (s < 0) break;
    q[s]++;
  }
  return q;
}

/** Average-linkage agglomerative clustering of `items` down to `target` clusters (deterministic). */
function cluster(items: readonly number[], target: number, dist: (a: number, b: number) => number, rank: readonly number[]): number[][] {
  if (items.length === 0) return [];
  let clusters = items.map((i) => [i]);
  const key = (c: readonly number[]): number => Math.min(...c.map((i) => rank[i]));
  const linkage = (a: readonly number[], b: readonly number[]): number => {
    let s = 0;
    for (const i of a) for (const j of b) s += dist(i, j);
    return s / (a.length * b.length);
  };
  while (clusters.length > Math.max(1, target)) {
    let best: { a: number; b: number; d: number; k: [number, number] } | undefined;
    for (let a = 0; a < clusters.length; a++) {
      for (let b = a + 1; b < clusters.length; b++) {
        const d = linkage(clusters[a], clusters[b]);
        const ka = key(clusters[a]);
        const kb = key(clusters[b]);
        const k: [number, number] = ka < kb ? [ka, kb] : [kb, ka];
        // Exact-tie breaking by the anatomical order (mirror-invariant), not by channel order.
        if (!best || d < best.d - 1e-12 || (Math.abs(d - best.d) <= 1e-12 && (k[0] < best.k[0] || (k[0] === best.k[0] && k[1] < best.k[1])))) best = { a, b, d, k };
      }
    }
    const { a, b } = best!;
    const merged = [...clusters[a], ...clusters[b]];
    clusters = clusters.filter((_, i) => i !== a && i !== b);
    clusters.push(merged);
  }
  return clusters;
}

function centroid(members: readonly number[], positions: readonly (readonly number[])[]): [number, number, number] {
  const c: [number, number, number] = [0, 0, 0];
  for (const m of members) for (let k = 0; k < 3; k++) c[k] += positions[m][k] / members.length;
  return c;
}

/**
 * Lobe name of a centroid by its angle from the nose axis (10-10 rows: Fp ~25°, AF ~40°, F ~55°,
 * FC ~72°, C 90°, CP ~108°, P ~125°, PO ~144°, O ~160°); lateral central centroids are temporal.
 */
function lobe(c: readonly number[]): string {
  const n = Math.hypot(c[0], c[1], c[2]) || 1;
  const angle = Math.acos(Math.max(-1, Math.min(1, c[1] / n))) / (Math.PI / 180);
  const lateral = Math.abs(c[0]) / n;
  if (angle < 40) return 'prefrontal';
  if (angle < 63) return lateral > 0.75 ? 'frontotemporal' : 'frontal';
  if (angle < 117) return lateral > 0.75 ? 'temporal' : 'central';
  if (angle < 144) return lateral > 0.75 ? 'temporoparietal' : 'parietal';
  return 'occipital';
}
