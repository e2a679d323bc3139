import type { Gallery } from './gallery.js';

/**
 * Retrieval by cosine similarity between a predicted embedding (the query) and the gallery's
 * L2-normalised embeddings. Order: higher score first; equal scores by gallery order (lower index
 * first), so `rankOf(q, g, id) < k` exactly when `id` is among `topK(q, g, k)`.
 */

export interface Match {
  readonly id: string;
  readonly label?: string;
  /** Cosine similarity in [-1, 1] (0 for a zero query). */
  readonly score: number;
  /** Position in the gallery. */
  readonly index: number;
}

/**
 * Cosine similarity of `query` (length gallery.dim) with every gallery item, written into `out`
 * (length >= gallery.size, reused across calls to allocate nothing).
 */
export function cosineScores(query: ArrayLike<number>, gallery: Gallery, out: Float64Array = new Float64Array(gallery.size)): Float64Array {
  const { dim, size, embeddings } = gallery;
  if (query.length !== dim) throw new Error(`retrieval: query has ${query.length} values, gallery dim is ${dim}`);
  if (out.length < size) throw new Error(`retrieval: score buffer holds ${out.length}, gallery has ${size} items`);
  let ss = 0;
  for (let j = 0; j < dim; j++) ss += query[j] * query[j];
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < size; i++) {
    const o = i * dim;
    let s0 = 0;
    let s1 = 0;
    let j = 0;
    for (; j + 2 <= dim; j += 2) {
      s0 += query[j] * embeddings[o + j];
      s1 += query[j + 1] * embeddings[o + j + 1];
    }
    if (j < dim) s0 += query[j] * embeddings[o + j];
    out[i] = (s0 + s1) * inv;
  }
  return out;
}

/** a ranks before b: higher score, then lower index. */
function before(scores: Float64Array, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && a < b);
}

/**
 * The `k` gallery items most similar to `query`, best first. `out` (length >= gallery.size) is the
 * score buffer, reused across calls; selection keeps a k-item heap (O(size log k), no full sort).
 */
export function topK(query: ArrayLike<number>, gallery: Gallery, k: number, out?: Float64Array): Match[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`retrieval: k must be a non-negative integer, got ${k}`);
  const scores = cosineScores(query, gallery, out);
  const n = gallery.size;
  const m = Math.min(k, n);
  if (m === 0) return [];
  // Min-heap (by rank order: the root is the worst kept item) of gallery indices.
  const heap = new Int32Array(m);
  let size = 0;
  const worse = (a: number, b: number): boolean => before(scores, b, a);
  const siftUp = (pos: number): void => {
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!worse(heap[pos], heap[parent])) break;
      const t = heap[pos];
      heap[pos] = heap[parent];
      heap[parent] = t;
      pos = parent;
    }
  };
  const siftDown = (pos: number): void => {
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && worse(heap[r], heap[l]) ? r : l;
      if (!worse(heap[c], heap[pos])) break;
      const t = heap[pos];
      heap[pos] = heap[c];
      heap[c] = t;
      pos = c;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < m) {
      heap[size++] = i;
      siftUp(size - 1);
    } else if (before(scores, i, heap[0])) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const chosen = Array.from(heap);
  chosen.sort((a, b) => (before(scores, a, b) ? -1 : 1));
  return chosen.map((i) => {
    const label = gallery.labels[i];
    return label !== undefined ? { id: gallery.ids[i], label, score: scores[i], index: i } : { id: gallery.ids[i], score: scores[i], index: i };
  });
}

/**
 * Rank of image `id` for `query`: how many gallery items come before it (0 = retrieved first).
 * `out` as in topK.
 */
export function rankOf(query: ArrayLike<number>, gallery: Gallery, id: string, out?: Float64Array): number {
  const t = gallery.indexOf(id);
  if (t < 0) throw new Error(`retrieval: image "${id}" is not in the gallery`);
  const scores = cosineScores(query, gallery, out);
  let rank = 0;
  for (let i = 0; i < gallery.size; i++) if (i !== t && before(scores, i, t)) rank++;
  return rank;
}

export interface RetrievalMetrics {
  /** Fraction of queries whose true image is retrieved first. */
  readonly top1: number;
  /** Fraction whose true image is among the first 5. */
  readonly top5: number;
  /** Fraction within the first k, for every k asked for (always includes 1 and 5). */
  readonly topK: Readonly<Record<number, number>>;
  /** Median rank of the true image (0 = best; the mean of the two middle ranks for an even count). */
  readonly medianRank: number;
  /** Chance levels for a gallery of N items: 1/N and min(5, N)/N. */
  readonly chanceTop1: number;
  readonly chanceTop5: number;
  /** Rank of the true image for every query. */
  readonly ranks: Int32Array;
  readonly queries: number;
  readonly gallerySize: number;
}

/**
 * Retrieval metrics of a batch of predicted embeddings: `queries` holds `trueIds.length` rows of
 * `gallery.dim` values; `trueIds[i]` is the image query i was made from (it must be in the gallery).
 */
export function retrievalMetrics(queries: ArrayLike<number>, trueIds: readonly string[], gallery: Gallery, ks: readonly number[] = [1, 5]): RetrievalMetrics {
  const { dim, size } = gallery;
  const n = trueIds.length;
  if (queries.length !== n * dim) throw new Error(`retrieval: ${queries.length} query values for ${n} ids of dim ${dim}`);
  if (size === 0) throw new Error('retrieval: empty gallery');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`retrieval: every k must be a positive integer, got ${k}`);
  const scores = new Float64Array(size);
  const ranks = new Int32Array(n);
  const q = new Float64Array(dim);
  trueIds.forEach((id, i) => {
    const t = gallery.indexOf(id);
    if (t < 0) throw new Error(`retrieval: trueIds[${i}] "${id}" is not in the gallery`);
    for (let j = 0; j < dim; j++) q[j] = queries[i * dim + j];
    cosineScores(q, gallery, scores);
    let rank = 0;
    for (let g = 0; g < size; g++) if (g !== t && before(scores, g, t)) rank++;
    ranks[i] = rank;
  });
  const within = (k: number): number => {
    if (n === 0) return NaN;
    let c = 0;
    for (let i = 0; i < n; i++) if (ranks[i] < k) c++;
    return c / n;
  };
  const topKRecord: Record<number, number> = {};
  for (const k of new Set([1, 5, ...ks])) topKRecord[k] = within(k);
  const sorted = Array.from(ranks).sort((a, b) => a - b);
  const medianRank = n === 0 ? NaN : n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    top1: topKRecord[1],
    top5: topKRecord[5],
    topK: topKRecord,
    medianRank,
    chanceTop1: 1 / size,
    chanceTop5: Math.min(5, size) / size,
    ranks,
    queries: n,
    gallerySize: size,
  };
}
