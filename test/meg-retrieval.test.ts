import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Matrix, solve } from 'ml-matrix';
import { afterAll, describe, expect, it } from 'vitest';
import { readMegBundle, writeMegBundle } from '../devices/datasets/meg/things-meg.js';
import { megSensors } from '../devices/synthetic/meg-forward-model.js';
import { averageByImage, split, synthesizeMegDataset, type SyntheticMeg } from '../devices/synthetic/meg-images.js';
import { MegImageSimulator, ZigguratNormal } from '../devices/synthetic/meg-stream.js';
import { multiplyTransposed } from '../src/ml/linalg/multiply-transposed.js';
import { solveShiftedTridiagonal, tridiagonalize } from '../src/ml/linalg/tridiagonal.js';
import { Ridge, type RidgeCriterion } from '../src/ml/ridge.js';
import { EpochFeatures } from '../src/retrieval/epoch-features.js';
import { Gallery, GalleryError } from '../src/retrieval/gallery.js';
import { cosineScores, rankOf, retrievalMetrics, topK } from '../src/retrieval/top-k.js';
import type { Marker } from '../src/stream/types.js';
import { Random } from '../src/util/random.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'neurorx-meg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function galleryDoc(items: unknown[], dim = 3): unknown {
  return { format: 'neurorx.gallery', version: 1, dim, model: 'test', items };
}

function randomGallery(n: number, dim: number, seed: number): Gallery {
  const rng = new Random(seed);
  return Gallery.fromItems(
    Array.from({ length: n }, (_, i) => ({ id: `im${i}`, label: `c${i % 7}`, embedding: Array.from({ length: dim }, () => rng.normal()) })),
    { model: 'random' },
  );
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('gallery', () => {
  it('loads a neurorx.gallery file, normalises embeddings and writes the document back', () => {
    const file = path.join(tmp, 'g.json');
    writeFileSync(
      file,
      JSON.stringify(
        galleryDoc([
          { id: 'a', label: 'dog', embedding: [3, 0, 4] },
          { id: 'b', embedding: [0, 2, 0] },
        ]),
      ),
    );
    const g = Gallery.load(file);
    expect(g.ids).toEqual(['a', 'b']);
    expect(g.labels).toEqual(['dog', undefined]);
    expect(g.dim).toBe(3);
    expect(g.model).toBe('test');
    expect(Array.from(g.embeddingOf('a'))).toEqual([expect.closeTo(0.6, 6), 0, expect.closeTo(0.8, 6)]);
    const again = Gallery.fromJSON(JSON.parse(JSON.stringify(g.toJSON())));
    expect(again.ids).toEqual(g.ids);
    expect(again.labels).toEqual(g.labels);
    expect(sameBytes(again.embeddings, g.embeddings)).toBe(true);
    const sub = g.subset(['b', 'a']);
    expect(sub.ids).toEqual(['b', 'a']);
    expect(Array.from(sub.embedding(1))).toEqual(Array.from(g.embedding(0)));
    expect(() => g.subset(['zz'])).toThrow(/no image "zz"/);
  });

  it('names the item and field of every error', () => {
    const bad = (items: unknown[], dim = 3): string => {
      try {
        Gallery.fromJSON(galleryDoc(items, dim), 'my.json');
      } catch (e) {
        expect(e).toBeInstanceOf(GalleryError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(
      bad([
        { id: 'a', embedding: [1, 0, 0] },
        { id: 'b', embedding: [0, 1, 0] },
        { id: 'a', embedding: [0, 0, 1] },
      ]),
    ).toMatch(/my\.json[\s\S]*items\.2\.id: duplicate id "a" \(first at items\.0\)/);
    expect(
      bad([
        { id: 'a', embedding: [1, 0, 0] },
        { id: 'b', embedding: [0, 1] },
      ]),
    ).toMatch(/items\.1\.embedding: expected 3 values \(dim\), got 2/);
    expect(bad([{ id: 'a', embedding: [1, NaN, 0] }])).toMatch(/items\.0\.embedding\.1: .*NaN/);
    expect(bad([{ id: 'a', embedding: [1, Infinity, 0] }])).toMatch(/items\.0\.embedding\.1: .*Infinity/);
    expect(bad([{ id: 'a', embedding: [0, 0, 0] }])).toMatch(/items\.0\.embedding: all zero/);
    expect(bad([{ id: '', embedding: [1, 0, 0] }])).toMatch(/items\.0\.id/);
    const file = path.join(tmp, 'broken.json');
    writeFileSync(file, '{"format": ');
    expect(() => Gallery.load(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });
});

describe('top-k retrieval', () => {
  it('equals a brute-force sort of the cosine similarities', () => {
    const g = randomGallery(500, 16, 1);
    const rng = new Random(2);
    const scratch = new Float64Array(g.size);
    for (let trial = 0; trial < 20; trial++) {
      const q = Float32Array.from({ length: 16 }, () => rng.normal());
      const qn = Math.hypot(...q);
      const brute = g.ids
        .map((id, i) => {
          let dot = 0;
          for (let j = 0; j < 16; j++) dot += q[j] * g.embeddings[i * 16 + j];
          return { id, score: dot / qn, i };
        })
        .sort((a, b) => b.score - a.score || a.i - b.i);
      for (const k of [1, 5, 17, 500, 600]) {
        const top = topK(q, g, k, scratch);
        expect(top.map((m) => m.id)).toEqual(brute.slice(0, k).map((b) => b.id));
        top.forEach((m, r) => expect(m.score).toBeCloseTo(brute[r].score, 6));
      }
      const truth = `im${trial * 7}`;
      const r = rankOf(q, g, truth, scratch);
      expect(brute[r].id).toBe(truth);
      expect(topK(q, g, r + 1).some((m) => m.id === truth)).toBe(true);
      expect(topK(q, g, r).some((m) => m.id === truth)).toBe(false);
    }
    expect(topK(new Float32Array(16), g, 3).map((m) => m.index)).toEqual([0, 1, 2]);
    expect(topK(g.embedding(3), g, 1)[0]).toMatchObject({ id: 'im3', label: 'c3' });
  });

  it('computes retrieval metrics on a closed-form case', () => {
    // 8 orthonormal images; query i makes exactly `want[i]` other images score above its own.
    const dim = 8;
    const g = Gallery.fromItems(Array.from({ length: dim }, (_, i) => ({ id: `e${i}`, embedding: Array.from({ length: dim }, (_, j) => (i === j ? 1 : 0)) })));
    const truth = ['e0', 'e1', 'e2', 'e3'];
    const want = [0, 1, 3, 6];
    const queries = new Float32Array(truth.length * dim);
    want.forEach((r, i) => {
      queries[i * dim + i] = 1;
      let placed = 0;
      for (let j = 0; placed < r; j++) {
        if (j === i) continue;
        queries[i * dim + j] = 2;
        placed++;
      }
    });
    const m = retrievalMetrics(queries, truth, g, [1, 5, 7]);
    expect(Array.from(m.ranks)).toEqual(want);
    expect(m.top1).toBe(0.25);
    expect(m.top5).toBe(0.75);
    expect(m.topK[7]).toBe(1);
    expect(m.medianRank).toBe(2);
    expect(m.chanceTop1).toBe(1 / 8);
    expect(m.chanceTop5).toBe(5 / 8);
    expect(() => retrievalMetrics(queries, ['e0', 'e1', 'e2', 'nope'], g)).toThrow(/trueIds\[3\] "nope"/);
    expect(cosineScores(queries.subarray(0, dim), g)[0]).toBeCloseTo(1, 12);
  });
});

describe('linear algebra for the dual ridge', () => {
  it('tridiagonalises a symmetric matrix: A = Q T Qᵀ with Q orthogonal', () => {
    for (const n of [1, 2, 3, 5, 37]) {
      const rng = new Random(n);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
      if (n === 5) for (let j = 0; j < n; j++) a[4 * n + j] = a[j * n + 4] = 0; // a zero column to skip
      const { diag, off, q } = tridiagonalize(a.slice(), n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let qtq = 0;
          let back = 0;
          for (let k = 0; k < n; k++) {
            qtq += q[k * n + i] * q[k * n + j];
            let tk = diag[k] * q[j * n + k];
            if (k > 0) tk += off[k - 1] * q[j * n + k - 1];
            if (k < n - 1) tk += off[k] * q[j * n + k + 1];
            back += q[i * n + k] * tk;
          }
          expect(Math.abs(qtq - (i === j ? 1 : 0))).toBeLessThan(1e-12);
          expect(Math.abs(back - a[i * n + j])).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('solves shifted tridiagonal systems and multiplies A Bᵀ', () => {
    const n = 9;
    const rng = new Random(4);
    const diag = Float64Array.from({ length: n }, () => 2 + rng.uniform());
    const off = Float64Array.from({ length: n }, (_, i) => (i < n - 1 ? rng.normal() * 0.5 : 0));
    const b = Float64Array.from({ length: n * 3 }, () => rng.normal());
    const x = solveShiftedTridiagonal(diag, off, 0.3, b, 3, new Float64Array(n * 3));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) {
        let v = (diag[i] + 0.3) * x[i * 3 + j];
        if (i > 0) v += off[i - 1] * x[(i - 1) * 3 + j];
        if (i < n - 1) v += off[i] * x[(i + 1) * 3 + j];
        expect(v).toBeCloseTo(b[i * 3 + j], 12);
      }
    }
    const [m, k, len] = [7, 6, 11];
    const a = Float64Array.from({ length: m * len }, () => rng.normal());
    const bb = Float64Array.from({ length: k * len }, () => rng.normal());
    const out = new Float64Array(m * k);
    multiplyTransposed(a, len, m, bb, len, k, len, out, k);
    const sq = new Float64Array(m * m);
    multiplyTransposed(a, len, m, a, len, m, len, sq, m, { lower: true });
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let c = 0; c < len; c++) s += a[i * len + c] * bb[j * len + c];
        expect(out[i * k + j]).toBeCloseTo(s, 12);
      }
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < len; c++) s += a[i * len + c] * a[j * len + c];
        expect(sq[i * m + j]).toBeCloseTo(s, 12);
      }
    }
  });
});

/** y = x W + 1.5 + noise, W ~ N(0, 1). */
function regression(n: number, p: number, d: number, seed: number, noise: number, signal = 1): { x: Float64Array; y: Float64Array } {
  const rng = new Random(seed);
  const x = Float64Array.from({ length: n * p }, () => rng.normal() + 0.3);
  const w = Float64Array.from({ length: p * d }, () => signal * rng.normal());
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = 1.5;
      for (let q = 0; q < p; q++) s += x[i * p + q] * w[q * d + j];
      y[i * d + j] = s + noise * rng.normal();
    }
  }
  return { x, y };
}

/** (XcᵀXc + αI) W = XcᵀYc by ml-matrix's solve, X and Y centred. */
function closedForm(x: Float64Array, n: number, p: number, y: Float64Array, d: number, alpha: number): Matrix {
  const xc = new Matrix(n, p);
  const yc = new Matrix(n, d);
  for (let q = 0; q < p; q++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * p + q] / n;
    for (let i = 0; i < n; i++) xc.set(i, q, x[i * p + q] - m);
  }
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += y[i * d + j] / n;
    for (let i = 0; i < n; i++) yc.set(i, j, y[i * d + j] - m);
  }
  const a = xc.transpose().mmul(xc);
  for (let q = 0; q < p; q++) a.set(q, q, a.get(q, q) + alpha);
  return solve(a, xc.transpose().mmul(yc));
}

/** Held-out criterion by refitting without each fold. */
function bruteForceCv(x: Float64Array, n: number, p: number, y: Float64Array, d: number, alpha: number, folds: number[][], criterion: RidgeCriterion): number {
  let total = 0;
  for (const fold of folds) {
    const held = new Set(fold);
    const train = [...Array(n).keys()].filter((i) => !held.has(i));
    const xt = new Float64Array(train.length * p);
    const yt = new Float64Array(train.length * d);
    train.forEach((i, k) => {
      xt.set(x.subarray(i * p, (i + 1) * p), k * p);
      yt.set(y.subarray(i * d, (i + 1) * d), k * d);
    });
    const model = Ridge.fit(xt, train.length, p, yt, d, { alpha, solver: 'primal' });
    for (const i of fold) {
      const pred = model.predict(x.subarray(i * p, (i + 1) * p), new Float64Array(d));
      if (criterion === 'mse') {
        let s = 0;
        for (let j = 0; j < d; j++) s += (pred[j] - y[i * d + j]) ** 2;
        total -= s / d;
      } else {
        let dot = 0;
        let pp = 0;
        let tt = 0;
        for (let j = 0; j < d; j++) {
          const a = pred[j] - model.targetMean[j];
          const b = y[i * d + j] - model.targetMean[j];
          dot += a * b;
          pp += a * a;
          tt += b * b;
        }
        total += dot / Math.sqrt(pp * tt);
      }
    }
  }
  return total / n;
}

describe('ridge regression', () => {
  it('matches the closed-form solution (ml-matrix solve) in primal and dual form', () => {
    for (const [n, p] of [
      [40, 7],
      [12, 30],
      [25, 25],
    ]) {
      const d = 3;
      const { x, y } = regression(n, p, d, n * 31 + p, 0.5);
      const ref = closedForm(x, n, p, y, d, 2.5);
      for (const solver of ['primal', 'dual'] as const) {
        const r = Ridge.fit(x, n, p, y, d, { alpha: 2.5, solver });
        for (let q = 0; q < p; q++) for (let j = 0; j < d; j++) expect(Math.abs(r.weights[q * d + j] - ref.get(q, j))).toBeLessThan(1e-8);
        // The intercept makes the mean input predict the mean target.
        const xm = new Float64Array(p);
        for (let i = 0; i < n; i++) for (let q = 0; q < p; q++) xm[q] += x[i * p + q] / n;
        const atMean = r.predict(xm, new Float64Array(d));
        for (let j = 0; j < d; j++) expect(atMean[j]).toBeCloseTo(r.targetMean[j], 10);
      }
    }
  });

  it('scores alphas by exact grouped cross-validation, the same in primal and dual form', () => {
    const n = 30;
    const p = 45;
    const d = 4;
    const { x, y } = regression(n, p, d, 7, 2);
    const groups = Array.from({ length: n }, (_, i) => `g${Math.floor(i / 3)}`);
    const alphas = [0.3, 3, 30, 300];
    for (const criterion of ['cosine', 'mse'] as const) {
      const primal = Ridge.fit(x, n, p, y, d, { alphas, groups, criterion, solver: 'primal' });
      const dual = Ridge.fit(x, n, p, y, d, { alphas, groups, criterion, solver: 'dual' });
      const logo = Array.from({ length: 10 }, (_, g) => [3 * g, 3 * g + 1, 3 * g + 2]);
      alphas.forEach((a, k) => {
        const brute = bruteForceCv(x, n, p, y, d, a, logo, criterion);
        expect(primal.cv!.scores[k]).toBeCloseTo(brute, 9);
        expect(dual.cv!.scores[k]).toBeCloseTo(brute, 9);
      });
      expect(dual.alpha).toBe(primal.alpha);
      for (let i = 0; i < p * d; i++) expect(dual.weights[i]).toBeCloseTo(primal.weights[i], 9);
      // k folds over the groups: group g (in order of appearance) in fold g mod 3.
      const three = Ridge.fit(x, n, p, y, d, { alphas, groups, criterion, folds: 3 });
      const folds = [0, 1, 2].map((f) => logo.filter((_, g) => g % 3 === f).flat());
      expect(three.cv!.folds).toBe(3);
      alphas.forEach((a, k) => expect(three.cv!.scores[k]).toBeCloseTo(bruteForceCv(x, n, p, y, d, a, folds, criterion), 9));
    }
    expect(() => Ridge.fit(x, n, p, y, d, { groups: Array<string>(n).fill('one') })).toThrow(/at least 2 groups/);
  });

  it('picks a sensible alpha for a known noise level', () => {
    // W ~ N(0, 1) and noise SD σ: the Bayes-optimal ridge (posterior mean) has alpha = σ².
    const n = 300;
    const p = 40;
    const d = 6;
    const alphas = Array.from({ length: 25 }, (_, k) => 10 ** (-3 + 0.3333 * k));
    for (const sigma of [0.5, 3]) {
      const { x, y } = regression(n, p, d, 11, sigma);
      for (const criterion of ['mse', 'cosine'] as const) {
        const r = Ridge.fit(x, n, p, y, d, { alphas, criterion });
        expect(Math.abs(Math.log10(r.alpha / sigma ** 2))).toBeLessThan(1);
      }
    }
    // No signal at all: the largest alpha; no noise: the smallest.
    const none = regression(n, p, d, 12, 1, 0);
    expect(Ridge.fit(none.x, n, p, none.y, d, { alphas, criterion: 'mse' }).alpha).toBeGreaterThan(1e3);
    const clean = regression(n, p, d, 13, 0);
    expect(Ridge.fit(clean.x, n, p, clean.y, d, { alphas, criterion: 'mse' }).alpha).toBe(alphas[0]);
  });

  it('round-trips through JSON and validates it', () => {
    const { x, y } = regression(20, 6, 2, 5, 0.3);
    const r = Ridge.fit(x, 20, 6, y, 2);
    const back = Ridge.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
    expect(back.alpha).toBe(r.alpha);
    expect(back.cv?.scores).toEqual(r.cv?.scores);
    const probe = Float64Array.from({ length: 6 }, (_, i) => i - 2);
    expect(Array.from(back.predict(probe, new Float64Array(2)))).toEqual(Array.from(r.predict(probe, new Float64Array(2))));
    const dev = r.predictDeviation(probe, new Float64Array(2));
    const full = r.predict(probe, new Float64Array(2));
    for (let j = 0; j < 2; j++) expect(dev[j]).toBeCloseTo(full[j] - r.targetMean[j], 12);
    const batch = r.predictBatch(Float64Array.of(...probe, ...probe.map((v) => -v)), 2, new Float64Array(4), { deviation: true });
    expect(Array.from(batch.subarray(0, 2))).toEqual(Array.from(dev));
    const doc = r.toJSON();
    expect(() => Ridge.fromJSON({ ...doc, weights: doc.weights.slice(1) }, 'model.json')).toThrow(/model\.json[\s\S]*weights: expected inputs x outputs = 12 values, got 11/);
    expect(() => Ridge.fromJSON({ ...doc, alpha: -1 })).toThrow(/alpha/);
    expect(() =>
      Ridge.fit(
        x,
        20,
        6,
        y.map((v, i) => (i === 5 ? NaN : v)),
        2,
      ),
    ).toThrow(/Y\[5\] is NaN/);
  });
});

describe('synthetic MEG', () => {
  const small = { seed: 5, images: 24, categories: 4, channels: 20, sampleRate: 100, subjects: 2, testRepetitions: 3 } as const;

  it('is deterministic for a seed and holds out the repeated test images', () => {
    const a = synthesizeMegDataset(small);
    const b = synthesizeMegDataset(small);
    const c = synthesizeMegDataset({ ...small, seed: 6 });
    expect(a.dataset.subjects.length).toBe(2);
    a.dataset.subjects.forEach((s, i) => {
      expect(s.epochs.length).toBe(b.dataset.subjects[i].epochs.length);
      s.epochs.forEach((ep, e) => {
        expect(ep.imageId).toBe(b.dataset.subjects[i].epochs[e].imageId);
        expect(sameBytes(ep.data, b.dataset.subjects[i].epochs[e].data)).toBe(true);
      });
    });
    expect(sameBytes(a.dataset.subjects[0].epochs[0].data, c.dataset.subjects[0].epochs[0].data)).toBe(false);
    expect(sameBytes(a.gallery.embeddings, b.gallery.embeddings)).toBe(true);

    const { train, test } = a.split;
    expect(test.length).toBe(5); // round(0.2 * 24)
    expect(train.length + test.length).toBe(24);
    expect(split(a.dataset)).toEqual({ train: [...train].sort(), test: [...test].sort() });
    for (const s of a.dataset.subjects) {
      const counts = new Map<string, number>();
      for (const ep of s.epochs) counts.set(ep.imageId, (counts.get(ep.imageId) ?? 0) + 1);
      for (const id of train) expect(counts.get(id)).toBe(1);
      for (const id of test) expect(counts.get(id)).toBe(3);
      // Epochs: -0.2..0.8 s at 100 Hz, both ends included.
      expect(s.epochs[0].samples).toBe(101);
      expect(s.epochs[0].onset).toBe(20);
    }
    expect(a.ceiling!.candidates).toBe(5);
  });

  it('has Neuromag-like sensors with realistic units and field strengths', () => {
    const { channels, positions } = megSensors(306);
    expect(channels.filter((c) => c.type === 'mag').length).toBe(102);
    expect(channels.filter((c) => c.type === 'grad').length).toBe(204);
    expect(channels.slice(0, 3)).toEqual([
      { label: 'MEG0011', type: 'mag', unit: 'T' },
      { label: 'MEG0012', type: 'grad', unit: 'T/m' },
      { label: 'MEG0013', type: 'grad', unit: 'T/m' },
    ]);
    expect(new Set(positions.map((p) => `${p.x},${p.y}`)).size).toBe(102);
    for (const p of positions) expect(Math.hypot(p.x, p.y)).toBeLessThanOrEqual(0.95 + 1e-9);
    const sim = new MegImageSimulator({ seed: 1, channels: 306, sampleRate: 1000 });
    const { data } = sim.next(2000);
    const rms = (type: string): number => {
      let s = 0;
      let k = 0;
      for (let t = 0; t < 2000; t++) {
        for (let c = 0; c < 306; c++) {
          if (channels[c].type !== type) continue;
          s += data[t * 306 + c] ** 2;
          k++;
        }
      }
      return Math.sqrt(s / k);
    };
    // Magnetometers: tens to hundreds of fT; planar gradiometers: a few pT/m.
    expect(rms('mag')).toBeGreaterThan(2e-14);
    expect(rms('mag')).toBeLessThan(5e-13);
    expect(rms('grad')).toBeGreaterThan(5e-13);
    expect(rms('grad')).toBeLessThan(5e-11);
  });

  it('streams endlessly, chunk-independent, with an image marker at each onset', () => {
    const opts = { seed: 3, images: 12, categories: 3, channels: 9, sampleRate: 200 };
    const whole = new MegImageSimulator(opts).next(2400);
    const pieces = new MegImageSimulator(opts);
    const rng = new Random(9);
    const parts: Float32Array[] = [];
    const markers: Marker[] = [];
    for (let done = 0; done < 2400;) {
      const n = Math.min(done < 10 ? 1 : 1 + rng.int(150), 2400 - done);
      const r = pieces.next(n);
      parts.push(r.data);
      markers.push(...r.markers);
      done += n;
    }
    const joined = new Float32Array(2400 * 9);
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(sameBytes(joined, whole.data)).toBe(true);
    expect(markers).toEqual(whole.markers);
    // One image every 0.9..1.1 s from 1 s on; 12 s of signal, the gallery cycles (>= 10 onsets).
    expect(whole.markers.length).toBeGreaterThanOrEqual(10);
    expect(whole.markers[0].time).toBe(1);
    for (let i = 1; i < whole.markers.length; i++) {
      const gap = whole.markers[i].time - whole.markers[i - 1].time;
      expect(gap).toBeGreaterThanOrEqual(0.9 - 1e-9);
      expect(gap).toBeLessThanOrEqual(1.1 + 1e-9);
    }
    const sim = new MegImageSimulator(opts);
    expect(whole.markers.map((m) => m.value)).toEqual(sim.firstPresentations(whole.markers.length).map((p) => `image ${sim.world.gallery.ids[p.image]}`));
    expect(new Set(whole.markers.slice(0, 12).map((m) => m.value)).size).toBe(12);
    expect(sim.info).toMatchObject({ type: 'MEG', sampleRate: 200 });
  });

  it('cuts the epochs from the same stream the simulator gives', () => {
    const { dataset, world } = synthesizeMegDataset({ ...small, subjects: 1, ceiling: false });
    const s = dataset.subjects[0];
    const sim = new MegImageSimulator({ world, subject: 1, sequence: s.epochs.map((e) => e.imageId), leadIn: 1 });
    const shows = sim.firstPresentations(4);
    const { data } = sim.next(shows[3].sample + 100);
    for (let e = 0; e < 4; e++) {
      const start = shows[e].sample - s.epochs[e].onset;
      expect(sameBytes(s.epochs[e].data, data.subarray(start * 20, (start + 101) * 20))).toBe(true);
    }
  });

  it('draws standard normal sensor noise', () => {
    const z = new ZigguratNormal(new Random(5));
    const n = 400_000;
    let s1 = 0;
    let s2 = 0;
    let s4 = 0;
    let tail = 0;
    for (let i = 0; i < n; i++) {
      const v = z.next();
      s1 += v;
      s2 += v * v;
      s4 += v * v * v * v;
      if (Math.abs(v) > 3) tail++;
    }
    expect(Math.abs(s1 / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.01);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.06);
    expect(tail / n).toBeGreaterThan(0.0022);
    expect(tail / n).toBeLessThan(0.0032);
  });
});

describe('ridge retrieval on synthetic MEG', () => {
  let syn: SyntheticMeg;

  it('retrieves held-out images well above chance (64 channels, 200 Hz, 120 images)', () => {
    syn = synthesizeMegDataset({ seed: 1, channels: 64, sampleRate: 200, images: 120, subjects: 2 });
    const { dataset, gallery, split: sp } = syn;
    const nch = dataset.channels.length;
    const testGallery = gallery.subset(sp.test);
    const trainIds = new Set(sp.train);
    let top5 = 0;
    let singleTop5 = 0;
    let chance = 0;
    for (const s of dataset.subjects) {
      const train = s.epochs.filter((e) => trainIds.has(e.imageId));
      expect(train.some((e) => sp.test.includes(e.imageId))).toBe(false);
      const feats = EpochFeatures.fit(train, nch, dataset.sampleRate);
      expect(feats.size).toBe(40 * 64);
      const x = feats.transformAll(train);
      const y = new Float32Array(train.length * gallery.dim);
      train.forEach((e, i) => y.set(gallery.embeddingOf(e.imageId), i * gallery.dim));
      const ridge = Ridge.fit(x, train.length, feats.size, y, gallery.dim, { groups: train.map((e) => e.imageId) });
      // Averaged repetitions of each test image (THINGS-MEG style), retrieved among the test images.
      const q = new Float32Array(sp.test.length * gallery.dim);
      averageByImage(s, sp.test, nch).forEach((avg, i) => {
        ridge.predictDeviation(feats.transform({ data: avg, samples: s.epochs[0].samples, onset: s.epochs[0].onset }), q.subarray(i * gallery.dim, (i + 1) * gallery.dim));
      });
      const m = retrievalMetrics(q, sp.test, testGallery);
      const single = s.epochs.filter((e) => !trainIds.has(e.imageId));
      const qs = new Float32Array(single.length * gallery.dim);
      single.forEach((e, i) => ridge.predictDeviation(feats.transform(e), qs.subarray(i * gallery.dim, (i + 1) * gallery.dim)));
      const ms = retrievalMetrics(
        qs,
        single.map((e) => e.imageId),
        testGallery,
      );
      top5 += m.top5 / dataset.subjects.length;
      singleTop5 += ms.top5 / dataset.subjects.length;
      chance = m.chanceTop5;
    }
    // 24 test images: chance top-5 = 5/24 ≈ 0.21.
    expect(chance).toBeCloseTo(5 / 24, 12);
    expect(top5).toBeGreaterThanOrEqual(0.6);
    expect(singleTop5).toBeGreaterThanOrEqual(0.3);
    // The known forward model does at least as well.
    expect(syn.ceiling!.top5).toBeGreaterThanOrEqual(top5);
  });

  it('round-trips a dataset through a MEG bundle', async () => {
    const dir = path.join(tmp, 'bundle');
    const small = synthesizeMegDataset({ seed: 2, images: 10, categories: 2, channels: 7, sampleRate: 50, subjects: 2, testRepetitions: 2, ceiling: false });
    await writeMegBundle(small.dataset, dir);
    const back = await readMegBundle(dir);
    expect(back.name).toBe('synthetic-meg');
    expect(back.channels).toEqual(small.dataset.channels);
    expect(back.positions).toEqual(small.dataset.positions.map((p) => ({ x: p.x, y: p.y })));
    expect(back.sampleRate).toBe(50);
    back.subjects.forEach((s, i) => {
      const orig = small.dataset.subjects[i];
      expect(s.id).toBe(orig.id);
      expect(s.epochs.map((e) => e.imageId)).toEqual(orig.epochs.map((e) => e.imageId));
      s.epochs.forEach((e, k) => {
        expect(e.onset).toBe(orig.epochs[k].onset);
        expect(sameBytes(e.data, orig.epochs[k].data)).toBe(true);
      });
    });
    expect(split(back)).toEqual(split(small.dataset));

    // Errors name the file and the field.
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { subjects: { file: string }[] };
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, subjects: [{ ...manifest.subjects[0], onset: 1000 }] }));
    await expect(readMegBundle(dir)).rejects.toThrow(/manifest\.json: invalid MEG bundle manifest[\s\S]*subjects\.0\.onset: must be below samples/);
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, subjects: [{ ...manifest.subjects[0], file: '../x.f32' }] }));
    await expect(readMegBundle(dir)).rejects.toThrow(/subjects\.0\.file: must be a file name/);
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const f = path.join(dir, manifest.subjects[1].file);
    writeFileSync(f, readFileSync(f).subarray(4));
    await expect(readMegBundle(dir)).rejects.toThrow(
      new RegExp(`${manifest.subjects[1].file.replace('.', '\\.')}: expected \\d+ bytes \\(\\d+ epochs x 51 samples x 7 channels x 4, manifest subjects\\.1\\), got \\d+`),
    );
  });
});
