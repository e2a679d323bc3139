/**
 * HiSTN-like emotion network (src/ml/histn) and the built-in montage (src/ml/montage): montage
 * geometry, the electrode hierarchy, ordinal soft targets, the network's size and state round
 * trip, and training on a synthetic problem whose class depends on a left-right asymmetry of one
 * band and on a temporal trend of another.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/util/random.js';
import { initTfjsBackend } from '../src/ml/tfjs/backend.js';
import { canonicalLabel, electrodePosition, positionsFor, standardLabels, type Vec3 } from '../src/ml/montage/standard-montage.js';
import { buildElectrodeHierarchy } from '../src/ml/histn/electrode-hierarchy.js';
import { expectedScore, expectedScores, ordinalTarget, ordinalTargets } from '../src/ml/histn/ordinal-labels.js';
import { HistnModel, type HistnState } from '../src/ml/histn/histn-model.js';
import { trainHistn } from '../src/ml/histn/histn-trainer.js';

const DREAMER = ['AF3', 'F7', 'F3', 'FC5', 'T7', 'P7', 'O1', 'O2', 'P8', 'T8', 'FC6', 'F4', 'F8', 'AF4'];
const DEAP = 'Fp1 AF3 F3 F7 FC5 FC1 C3 T7 CP5 CP1 P3 P7 PO3 O1 Oz Pz Fp2 AF4 Fz F4 F8 FC6 FC2 Cz C4 T8 CP6 CP2 P4 P8 PO4 O2'.split(' ');
const SEED =
  'FP1 FPZ FP2 AF3 AF4 F7 F5 F3 F1 FZ F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 T7 C5 C3 C1 CZ C2 C4 C6 T8 TP7 CP5 CP3 CP1 CPZ CP2 CP4 CP6 TP8 P7 P5 P3 P1 PZ P2 P4 P6 P8 PO7 PO5 PO3 POZ PO4 PO6 PO8 CB1 O1 OZ O2 CB2'.split(
    ' ',
  );
const EEGMMIDB =
  'Fc5. Fc3. Fc1. Fcz. Fc2. Fc4. Fc6. C5.. C3.. C1.. Cz.. C2.. C4.. C6.. Cp5. Cp3. Cp1. Cpz. Cp2. Cp4. Cp6. Fp1. Fpz. Fp2. Af7. Af3. Afz. Af4. Af8. F7.. F5.. F3.. F1.. Fz.. F2.. F4.. F6.. F8.. Ft7. Ft8. T7.. T8.. T9.. T10. Tp7. Tp8. P7.. P5.. P3.. P1.. Pz.. P2.. P4.. P6.. P8.. Po7. Po3. Poz. Po4. Po8. O1.. Oz.. O2.. Iz..'.split(
    ' ',
  );

const F = 5;
const T = 8;
const C = DREAMER.length;

beforeAll(async () => {
  await initTfjsBackend('wasm');
});

const angle = (a: Vec3, b: Vec3): number => (Math.acos(Math.min(1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2])) * 180) / Math.PI;
const pos = (l: string): Vec3 => electrodePosition(l)!;

describe('standard montage', () => {
  it('puts the landmarks where the 10-20 system says', () => {
    expect(pos('Cz')[0]).toBeCloseTo(0, 12);
    expect(pos('Cz')[1]).toBeCloseTo(0, 12);
    expect(pos('Cz')[2]).toBeCloseTo(1, 12);
    expect(pos('Fpz')[0]).toBe(0);
    expect(pos('Fpz')[1]).toBeGreaterThan(0.9);
    expect(pos('Oz')[1]).toBeLessThan(-0.9);
    expect(pos('T7')[0]).toBeLessThan(-0.9);
    expect(pos('T8')[0]).toBeGreaterThan(0.9);
    expect(pos('Nz')).toEqual([0, 1, 0]);
    // 10 % steps of 18° along the nasion-inion and pre-auricular arcs.
    expect(angle(pos('Nz'), pos('Fpz'))).toBeCloseTo(18, 9);
    expect(angle(pos('Fz'), pos('Cz'))).toBeCloseTo(36, 9);
    expect(angle(pos('Cz'), pos('C3'))).toBeCloseTo(36, 9);
    expect(angle(pos('C3'), pos('T7'))).toBeCloseTo(36, 9);
    expect(angle(pos('T9'), pos('T7'))).toBeCloseTo(18, 9);
    // F3 halfway between Fz and F7, F1 and F5 at the quarters.
    expect(angle(pos('Fz'), pos('F3'))).toBeCloseTo(angle(pos('F3'), pos('F7')), 9);
    expect(angle(pos('Fz'), pos('F1'))).toBeCloseTo(angle(pos('F5'), pos('F7')), 9);
    // The 10 % ring: Fp1, F7, T7, P7, O1 all 18° above the equator.
    for (const l of ['Fp1', 'AF7', 'F7', 'FT7', 'T7', 'TP7', 'P7', 'PO7', 'O1']) expect(pos(l)[2]).toBeCloseTo(Math.sin(Math.PI / 10), 9);
    for (const l of standardLabels()) expect(Math.hypot(...pos(l))).toBeCloseTo(1, 12);
  });

  it('covers the 10-10 labels, mirrors odd/even pairs and keeps z labels on the midline', () => {
    const expected = [
      'Nz',
      'Fp1',
      'Fpz',
      'Fp2',
      'AF9',
      'AF7',
      'AF5',
      'AF3',
      'AF1',
      'AFz',
      'AF2',
      'AF4',
      'AF6',
      'AF8',
      'AF10',
      'F9',
      'F7',
      'F5',
      'F3',
      'F1',
      'Fz',
      'F2',
      'F4',
      'F6',
      'F8',
      'F10',
      'FT9',
      'FT7',
      'FC5',
      'FC3',
      'FC1',
      'FCz',
      'FC2',
      'FC4',
      'FC6',
      'FT8',
      'FT10',
      'T9',
      'T7',
      'C5',
      'C3',
      'C1',
      'Cz',
      'C2',
      'C4',
      'C6',
      'T8',
      'T10',
      'TP9',
      'TP7',
      'CP5',
      'CP3',
      'CP1',
      'CPz',
      'CP2',
      'CP4',
      'CP6',
      'TP8',
      'TP10',
      'P9',
      'P7',
      'P5',
      'P3',
      'P1',
      'Pz',
      'P2',
      'P4',
      'P6',
      'P8',
      'P10',
      'PO9',
      'PO7',
      'PO5',
      'PO3',
      'PO1',
      'POz',
      'PO2',
      'PO4',
      'PO6',
      'PO8',
      'PO10',
      'O9',
      'O1',
      'Oz',
      'O2',
      'O10',
      'Iz',
      'T3',
      'T4',
      'T5',
      'T6',
      'CB1',
      'CB2',
    ];
    for (const l of expected) expect(electrodePosition(l), l).toBeDefined();
    let pairs = 0;
    for (const l of standardLabels()) {
      const m = /^([A-Za-z]+?)(\d+)$/.exec(l);
      if (m && Number(m[2]) % 2 === 1) {
        const right = electrodePosition(`${m[1]}${Number(m[2]) + 1}`);
        expect(right, `${l}'s mirror`).toBeDefined();
        const left = pos(l);
        expect(left[0], l).toBeLessThan(0);
        expect(right![0]).toBeCloseTo(-left[0], 12);
        expect(right![1]).toBeCloseTo(left[1], 12);
        expect(right![2]).toBeCloseTo(left[2], 12);
        pairs++;
      }
      if (l.endsWith('z')) expect(pos(l)[0], l).toBe(0);
    }
    expect(pairs).toBeGreaterThanOrEqual(40);
  });

  it('knows the old 10-20 names and SEED cerebellar electrodes', () => {
    expect(pos('T3')).toEqual(pos('T7'));
    expect(pos('T4')).toEqual(pos('T8'));
    expect(pos('T5')).toEqual(pos('P7'));
    expect(pos('T6')).toEqual(pos('P8'));
    // CB1/CB2 below O1/O2, on their side.
    expect(pos('CB1')[2]).toBeLessThan(pos('O1')[2]);
    expect(pos('CB1')[0]).toBeLessThan(0);
    expect(pos('CB2')[0]).toBeCloseTo(-pos('CB1')[0], 12);
  });

  it('matches labels tolerantly and names every unknown label', () => {
    expect(electrodePosition('FP1')).toEqual(pos('Fp1'));
    expect(electrodePosition('fp1')).toEqual(pos('Fp1'));
    expect(electrodePosition('Fc5.')).toEqual(pos('FC5'));
    expect(electrodePosition('C3..')).toEqual(pos('C3'));
    expect(electrodePosition(' Cz ')).toEqual(pos('Cz'));
    expect(electrodePosition('FCZ')).toEqual(pos('FCz'));
    expect(canonicalLabel('Poz.')).toBe('POz');
    expect(electrodePosition('X1')).toBeUndefined();
    expect(electrodePosition('')).toBeUndefined();
    expect(() => positionsFor(['Cz', 'Foo', 'F3', 'Bar.'])).toThrow(/'Foo', 'Bar\.'/);
    for (const set of [DREAMER, DEAP, SEED, EEGMMIDB]) expect(positionsFor(set)).toHaveLength(set.length);
  });
});

describe('electrode hierarchy', () => {
  const h = buildElectrodeHierarchy(DREAMER);
  const xOf = (c: number): number => h.positions[c][0];

  it('puts every DREAMER electrode in exactly one region, within one hemisphere', () => {
    expect(h.electrodeToRegion).toHaveLength(C);
    for (const row of h.electrodeToRegion) {
      expect(row.every((v) => v === 0 || v === 1)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
    }
    const all = h.regions.flatMap((r) => r.members).sort((a, b) => a - b);
    expect(all).toEqual([...Array(C).keys()]);
    for (const r of h.regions) {
      const signs = new Set(r.members.map((c) => Math.sign(xOf(c))));
      expect(signs.size, r.name).toBe(1);
      expect(r.side).toBe(xOf(r.members[0]) < 0 ? 'left' : 'right');
      expect(r.name.startsWith(`${r.side}-`)).toBe(true);
    }
    expect(new Set(h.regions.map((r) => r.name)).size).toBe(h.regions.length);
    // No midline electrode in DREAMER: two hemispheres, at least two regions each.
    expect(h.hemispheres.map((x) => x.name)).toEqual(['left', 'right']);
    for (const hemi of h.hemispheres) expect(hemi.regions.length).toBeGreaterThanOrEqual(2);
    for (const [ri, row] of h.regionToHemisphere.entries()) {
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
      expect(h.hemispheres[row.indexOf(1)].name).toBe(h.regions[ri].side);
    }
  });

  it('builds a symmetric normalised adjacency with self loops', () => {
    expect(h.adjacency).toHaveLength(C);
    for (let i = 0; i < C; i++) {
      expect(h.adjacency[i][i]).toBeGreaterThan(0);
      for (let j = 0; j < C; j++) {
        expect(h.adjacency[i][j]).toBeCloseTo(h.adjacency[j][i], 12);
        expect(h.adjacency[i][j]).toBeGreaterThanOrEqual(0);
        expect(h.adjacency[i][j]).toBeLessThanOrEqual(1);
      }
      // At least the 4 nearest neighbours are joined.
      expect(h.adjacency[i].filter((v, j) => j !== i && v > 0).length).toBeGreaterThanOrEqual(4);
    }
    // D^-1/2 (A + I) D^-1/2 has eigenvalue 1 with eigenvector sqrt(degree): recover the degrees from
    // the diagonal (A_ii + 1 = 1, so Â_ii = 1 / d_i) and check.
    const sqrtDeg = h.adjacency.map((row, i) => 1 / Math.sqrt(row[i]));
    for (let i = 0; i < C; i++) {
      const v = h.adjacency[i].reduce((a, w, j) => a + w * sqrtDeg[j], 0);
      expect(v).toBeCloseTo(sqrtDeg[i], 9);
    }
  });

  it('is deterministic, independent of channel order and mirror-symmetric for a symmetric montage', () => {
    const byLabel = (x: ReturnType<typeof buildElectrodeHierarchy>): string[] =>
      x.regions
        .map(
          (r) =>
            `${r.name}:${r.members
              .map((c) => x.channels[c])
              .sort()
              .join(',')}`,
        )
        .sort();
    expect(byLabel(buildElectrodeHierarchy(DREAMER))).toEqual(byLabel(h));
    const shuffled = new Random(5).shuffle([...DREAMER]);
    expect(byLabel(buildElectrodeHierarchy(shuffled))).toEqual(byLabel(h));
    const mirror = (l: string): string => l.replace(/\d+$/, (d) => String(Number(d) % 2 === 1 ? Number(d) + 1 : Number(d) - 1));
    const left = h.regions
      .filter((r) => r.side === 'left')
      .map((r) =>
        r.members
          .map((c) => mirror(DREAMER[c]))
          .sort()
          .join(','),
      );
    const right = h.regions
      .filter((r) => r.side === 'right')
      .map((r) =>
        r.members
          .map((c) => DREAMER[c])
          .sort()
          .join(','),
      );
    expect(left.sort()).toEqual(right.sort());
  });

  it('handles DEAP, SEED and EEGMMIDB layouts, with a midline hemisphere', () => {
    for (const set of [DEAP, SEED, EEGMMIDB]) {
      const x = buildElectrodeHierarchy(set);
      expect(x.hemispheres.map((s) => s.name)).toEqual(['left', 'midline', 'right']);
      expect(x.regions.length).toBeGreaterThanOrEqual(Math.round(set.length / 3) - 2);
      expect(x.regions.length).toBeLessThanOrEqual(Math.round(set.length / 3) + 2);
      for (const r of x.regions) {
        for (const c of r.members) expect(x.sides[c]).toBe(r.side);
      }
      for (const [c, label] of set.entries()) {
        if (/z\.*$/i.test(label)) expect(x.sides[c], label).toBe('midline');
      }
    }
    expect(buildElectrodeHierarchy(DREAMER, { regions: 5 }).regions).toHaveLength(5);
    expect(buildElectrodeHierarchy(DEAP, { regions: 7 }).regions).toHaveLength(7);
  });
});

describe('ordinal soft targets', () => {
  it('peak at the true class and fall off with distance (K = 5)', () => {
    for (let y = 0; y < 5; y++) {
      const q = ordinalTarget(y, 5);
      expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (let j = 0; j < 5; j++) {
        expect(q[j]).toBeGreaterThan(0);
        if (j !== y) expect(q[j]).toBeLessThan(q[y]);
        // Monotone decrease moving away from y on both sides.
        if (j > y) expect(q[j]).toBeLessThanOrEqual(q[j - 1]);
        if (j < y) expect(q[j]).toBeLessThanOrEqual(q[j + 1]);
      }
      // Equal distance, equal mass.
      if (y === 2) {
        expect(q[1]).toBeCloseTo(q[3], 12);
        expect(q[0]).toBeCloseTo(q[4], 12);
      }
    }
    // Neighbours get clearly more than classes two levels away.
    const q = ordinalTarget(2, 5);
    expect(q[1]).toBeGreaterThan(3 * q[0]);
  });

  it('is ordinary label smoothing for K = 2 and one-hot with sigma = 0, epsilon = 0', () => {
    const q = ordinalTarget(1, 2, { epsilon: 0.1 });
    expect(q[0]).toBeCloseTo(0.05, 12);
    expect(q[1]).toBeCloseTo(0.95, 12);
    expect(Array.from(ordinalTarget(3, 5, { sigma: 0, epsilon: 0 }))).toEqual([0, 0, 0, 1, 0]);
    expect(Array.from(ordinalTargets([0, 1], 2, { epsilon: 0 }))).toEqual([1, 0, 0, 1]);
    expect(() => ordinalTarget(5, 5)).toThrow(/outside/);
  });

  it('maps expected class indices to a score in [-1, 1]', () => {
    expect(expectedScore([1, 0, 0, 0, 0])).toBe(-1);
    expect(expectedScore([0, 0, 0, 0, 1])).toBe(1);
    expect(expectedScore([0.2, 0.2, 0.2, 0.2, 0.2])).toBeCloseTo(0, 12);
    expect(expectedScore([0.5, 0.5])).toBeCloseTo(0, 12);
    expect(expectedScore([0, 1, 0])).toBeCloseTo(0, 12);
    expect(Array.from(expectedScores([1, 0, 0, 1], 2))).toEqual([-1, 1]);
  });
});

/**
 * Sequences [n, T, C, F] of DREAMER-like features: unit noise, plus a frontal alpha asymmetry
 * (band 2 up by s*a on AF4/F4/F8, down on AF3/F3/F7) and a linear trend of band 3 over the T windows
 * of slope b on every electrode. The class is the sign of a + b (K = 2), or a + b cut in K levels.
 */
function synthetic(n: number, K: number, seed: number): { X: Float32Array; labels: number[]; latent: number[] } {
  const rng = new Random(seed);
  const X = new Float32Array(n * T * C * F);
  const right = ['AF4', 'F4', 'F8'].map((l) => DREAMER.indexOf(l));
  const left = ['AF3', 'F3', 'F7'].map((l) => DREAMER.indexOf(l));
  const labels: number[] = [];
  const latent: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    for (let t = 0; t < T; t++) {
      const u = (t - (T - 1) / 2) / (T / 2);
      for (let c = 0; c < C; c++) {
        for (let f = 0; f < F; f++) {
          let v = rng.normal();
          if (f === 2 && right.includes(c)) v += 0.6 * a;
          if (f === 2 && left.includes(c)) v -= 0.6 * a;
          if (f === 3) v += b * u;
          X[((i * T + t) * C + c) * F + f] = v;
        }
      }
    }
    const s = (a + b) / Math.SQRT2;
    latent.push(s);
    labels.push(K === 2 ? (s > 0 ? 1 : 0) : Math.min(K - 1, Math.max(0, Math.floor(((s + 1.5) / 3) * K))));
  }
  return { X, labels, latent };
}

function accuracy(probs: Float32Array, labels: readonly number[], K: number): number {
  let correct = 0;
  labels.forEach((y, i) => {
    let arg = 0;
    for (let j = 1; j < K; j++) if (probs[i * K + j] > probs[i * K + arg]) arg = j;
    if (arg === y) correct++;
  });
  return correct / labels.length;
}

const LEVELS = ['1', '2', '3', '4', '5'];

describe('HistnModel', () => {
  it('has about a thousand parameters for 14 channels, 5 features, 5 classes', () => {
    const m = HistnModel.create({}, DREAMER, F, T, LEVELS);
    expect(m.parameterCount).toBeGreaterThanOrEqual(500);
    expect(m.parameterCount).toBeLessThanOrEqual(2000);
    expect(m.parameterCount).toBe(913);
    m.dispose();
    // Larger montages stay small too (the temporal stage grows with the midline hemisphere).
    const big = HistnModel.create({}, SEED, F, T, LEVELS);
    expect(big.parameterCount).toBeLessThanOrEqual(2000);
    big.dispose();
  });

  it('predicts probabilities quickly without leaking tensors', () => {
    const m = HistnModel.create({ seed: 3 }, DREAMER, F, T, LEVELS);
    const { X } = synthetic(20, 5, 9);
    const before = tf.memory().numTensors;
    const p = m.predict(X, 20);
    expect(p).toHaveLength(20 * 5);
    for (let i = 0; i < 20; i++) expect(p.subarray(i * 5, i * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const one = X.subarray(0, T * C * F);
    m.predict(one, 1);
    const times: number[] = [];
    for (let r = 0; r < 30; r++) {
      const t0 = performance.now();
      m.predict(one, 1);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    expect(times[15]).toBeLessThan(10);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.predict(X.subarray(1), 20)).toThrow(/expected 11200 values/);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before - 17);
  });

  it('round-trips through JSON with identical predictions and validates the state', () => {
    const m = HistnModel.create({ seed: 4 }, DREAMER, F, T, LEVELS);
    const { X } = synthetic(16, 5, 10);
    const state = JSON.parse(JSON.stringify(m.toState())) as HistnState;
    const back = HistnModel.fromState(state);
    expect(Array.from(back.predict(X, 16))).toEqual(Array.from(m.predict(X, 16)));
    expect(back.hierarchy.regions.map((r) => r.name)).toEqual(m.hierarchy.regions.map((r) => r.name));
    back.dispose();

    const wrongShape = structuredClone(state) as { weights: Record<string, { shape: number[]; values: number[] }> };
    wrongShape.weights.graphKernel = { shape: [8, 7], values: new Array<number>(56).fill(0) };
    expect(() => HistnModel.fromState(wrongShape as unknown as HistnState)).toThrow(/weights\.graphKernel has shape \[8,7\], expected \[8, 8\]/);
    const wrongCount = structuredClone(state) as { weights: Record<string, { shape: number[]; values: number[] }> };
    wrongCount.weights.outputBias.values.pop();
    expect(() => HistnModel.fromState(wrongCount as unknown as HistnState)).toThrow(/weights\.outputBias has 4 values, expected 5/);
    const missing = structuredClone(state) as { weights: Record<string, unknown> };
    delete missing.weights.temporalKernel;
    expect(() => HistnModel.fromState(missing as unknown as HistnState)).toThrow(/weights\.temporalKernel is missing/);
    const badHierarchy = structuredClone(state) as { hierarchy: { adjacency: number[][] } };
    badHierarchy.hierarchy.adjacency.pop();
    expect(() => HistnModel.fromState(badHierarchy as unknown as HistnState)).toThrow(/hierarchy\.adjacency/);
    m.dispose();
  });
});

describe('trainHistn', () => {
  it('learns asymmetry + trend (K = 2): held-out accuracy > 0.85 within 60 s, no leaked tensors', async () => {
    const train = synthetic(1200, 2, 1);
    const test = synthetic(400, 2, 2);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const { model, report } = await trainHistn(train.X, train.labels, {
      channels: DREAMER,
      featureCount: F,
      sequenceLength: T,
      classes: ['low', 'high'],
      epochs: 40,
      seed: 2,
      onEpoch: (e) => epochs.push(e.epoch),
    });
    try {
      expect(report.backend).toBe('wasm');
      expect(report.seconds).toBeGreaterThan(0); // how long it takes is a figure for the benchmarks, not a test
      expect(Math.abs(report.validationCount - 180)).toBeLessThanOrEqual(1);
      expect(report.trainCount + report.validationCount).toBe(1200);
      expect(report.bestEpoch).not.toBeNull();
      expect(epochs).toEqual([...Array(report.epochs).keys()]);
      const acc = accuracy(model.predict(test.X, 400), test.labels, 2);
      expect(acc).toBeGreaterThan(0.85);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('learns the ordered 5-level version: accuracy above chance, expected score tracks the latent', async () => {
    const train = synthetic(1200, 5, 3);
    const test = synthetic(400, 5, 4);
    const { model } = await trainHistn(train.X, train.labels, {
      channels: DREAMER,
      featureCount: F,
      sequenceLength: T,
      classes: LEVELS,
      epochs: 40,
      classWeights: 'balanced',
      validation: [...Array(200).keys()],
      seed: 3,
    });
    try {
      const probs = model.predict(test.X, 400);
      expect(accuracy(probs, test.labels, 5)).toBeGreaterThan(0.55);
      const score = expectedScores(probs, 5);
      expect(correlation(Array.from(score), test.latent)).toBeGreaterThan(0.8);
    } finally {
      model.dispose();
    }
  });

  it('is deterministic for a seed on the same backend', async () => {
    const { X, labels } = synthetic(300, 5, 5);
    const run = async (): Promise<HistnState['weights']> => {
      const { model } = await trainHistn(X, labels, { channels: DREAMER, featureCount: F, sequenceLength: T, classes: LEVELS, epochs: 3, seed: 7, spec: { dropout: 0.2 } });
      const w = model.toState().weights;
      model.dispose();
      return w;
    };
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
  });

  it('trains on the cpu backend too', async () => {
    try {
      const { X, labels } = synthetic(200, 2, 6);
      const before = tf.memory().numTensors;
      const { model, report } = await trainHistn(X, labels, { channels: DREAMER, featureCount: F, sequenceLength: T, classes: ['low', 'high'], epochs: 2, backend: 'cpu' });
      expect(report.backend).toBe('cpu');
      expect(report.trainLoss.every(Number.isFinite)).toBe(true);
      expect(model.predict(X.subarray(0, 2 * T * C * F), 2)).toHaveLength(4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await initTfjsBackend('wasm');
    }
  });

  it('rejects inconsistent input', async () => {
    const { X, labels } = synthetic(10, 2, 8);
    const base = { channels: DREAMER, featureCount: F, sequenceLength: T, classes: ['low', 'high'] };
    await expect(trainHistn(X.subarray(1), labels, base)).rejects.toThrow(/X has 5599 values/);
    await expect(
      trainHistn(
        X,
        labels.map((y) => y + 1),
        base,
      ),
    ).rejects.toThrow(/label \d+ is 2/);
    await expect(trainHistn(X, labels, { featureCount: F })).rejects.toThrow(/needs channels, sequenceLength, classes/);
  });
});

function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
