import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { SpdOps } from '../src/ml/linalg/spd-ops.js';
import { SymmetricEigen } from '../src/ml/linalg/symmetric-eigen.js';
import { LogisticRegression } from '../src/ml/logistic-regression.js';
import { ledoitWolfOfBlocks, ledoitWolfShrinkage } from '../src/ml/covariance.js';
import { epochCovariance } from '../src/ml/riemann/epoch-covariance.js';
import { Mdm } from '../src/ml/riemann/mdm.js';
import { Recenter } from '../src/ml/riemann/recenter.js';
import { logEuclideanMean, riemannMean } from '../src/ml/riemann/riemann-mean.js';
import { TangentSpace } from '../src/ml/riemann/tangent-space.js';
import { Random } from '../src/util/random.js';
import { FIXTURES } from './helpers/data.js';

const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'riemann-lr.json'), 'utf8')) as {
  block: number[][];
  scm: number[][];
  lwf: number[][];
  oas: number[][];
  logisticRegression: { name: string; trainX: number[][]; trainY: string[]; testX: number[][]; classes: string[]; probabilities: number[][] }[];
};

/** A random SPD matrix A A^T / m + eps I, flat. */
function randomSpd(rng: Random, n: number, m = n + 4): Float64Array {
  const a = Array.from({ length: n * m }, () => rng.normal());
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < m; k++) c[i * n + j] += (a[i * m + k] * a[j * m + k]) / m;
  for (let i = 0; i < n; i++) c[i * n + i] += 0.05;
  return c;
}

function mul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += a[i * n + k] * b[k * n + j];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('symmetric eigendecomposition', () => {
  it('matches ml-matrix on random symmetric matrices and reconstructs them (1e-10)', () => {
    const rng = new Random(3);
    for (const n of [1, 2, 5, 17, 64]) {
      const c = randomSpd(rng, n);
      const eig = new SymmetricEigen(n).decompose(c);
      const ref = new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(c.subarray(i * n, (i + 1) * n)))), { assumeSymmetric: true });
      const refValues = [...ref.realEigenvalues].sort((a, b) => a - b);
      expect(maxAbsDiff(eig.values, refValues)).toBeLessThan(1e-10 * Math.max(...refValues));
      const back = new Float64Array(n * n);
      for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) back[i * n + j] += eig.values[k] * eig.vectors[k * n + i] * eig.vectors[k * n + j];
      expect(maxAbsDiff(back, c)).toBeLessThan(1e-10);
    }
  });

  it('handles repeated eigenvalues and diagonal input', () => {
    const eig = new SymmetricEigen(3).decompose([2, 0, 0, 0, 2, 0, 0, 0, 5]);
    expect(Array.from(eig.values)).toEqual([2, 2, 5]);
  });

  it('rejects a wrongly sized input', () => {
    expect(() => new SymmetricEigen(3).decompose([1, 2, 3])).toThrow(/expected 9 values, got 3/);
  });
});

describe('SPD matrix functions', () => {
  const rng = new Random(11);
  const n = 8;
  const ops = new SpdOps(n);
  const c = randomSpd(rng, n);

  it('sqrt(C)² = C, invSqrt(C)·C·invSqrt(C) = I, exp(log C) = C', () => {
    const s = ops.sqrt(c, new Float64Array(n * n));
    expect(maxAbsDiff(mul(s, s, n), c)).toBeLessThan(1e-12);
    const w = ops.invSqrt(c, new Float64Array(n * n));
    const white = ops.congruence(w, c, new Float64Array(n * n));
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    expect(maxAbsDiff(white, eye)).toBeLessThan(1e-12);
    expect(maxAbsDiff(ops.exp(ops.log(c, new Float64Array(n * n)), new Float64Array(n * n)), c)).toBeLessThan(1e-12);
  });

  it('refuses a matrix that is not positive definite, saying what to do', () => {
    expect(() => ops.log(new Float64Array(n * n), new Float64Array(n * n))).toThrow(/not positive definite.*shrinkage/);
  });
});

describe('covariance estimators (scikit-learn fixture)', () => {
  const rows = fixture.block;
  const p = rows[0].length;
  const block = { data: Float32Array.from(rows.flat()), samples: rows.length };
  for (const estimator of ['scm', 'lwf', 'oas'] as const) {
    it(`${estimator} matches scikit-learn within 1e-12 relative`, () => {
      const ours = epochCovariance(block, p, estimator);
      const ref = fixture[estimator].flat();
      expect(maxAbsDiff(ours, ref) / Math.max(...ref.map(Math.abs))).toBeLessThan(1e-12);
    });
  }
});

describe('Riemannian mean, distance, tangent space, MDM, re-centring', () => {
  const rng = new Random(5);
  const n = 6;
  const covs = Array.from({ length: 12 }, () => randomSpd(rng, n));
  const ops = new SpdOps(n);

  it('is the geometric mean for commuting (diagonal) matrices', () => {
    const diag = (v: number[]): Float64Array => {
      const m = new Float64Array(9);
      v.forEach((x, i) => (m[i * 3 + i] = x));
      return m;
    };
    const m = riemannMean([diag([1, 4, 9]), diag([4, 1, 1]), diag([16, 16, 3])], 3, { tolerance: 1e-12 });
    expect(m[0]).toBeCloseTo(Math.cbrt(64), 10);
    expect(m[4]).toBeCloseTo(Math.cbrt(64), 10);
    expect(m[8]).toBeCloseTo(Math.cbrt(27), 10);
    expect(maxAbsDiff(logEuclideanMean([diag([1, 4, 9]), diag([4, 1, 1]), diag([16, 16, 3])], 3), m)).toBeLessThan(1e-12);
  });

  it('satisfies the Karcher condition Σ log(M^-1/2 C_i M^-1/2) = 0 (1e-6)', () => {
    const m = riemannMean(covs, n);
    const w = ops.invSqrt(m, new Float64Array(n * n));
    const sum = new Float64Array(n * n);
    const tmp = new Float64Array(n * n);
    const log = new Float64Array(n * n);
    for (const c of covs) {
      ops.log(ops.congruence(w, c, tmp), log);
      for (let k = 0; k < n * n; k++) sum[k] += log[k];
    }
    expect(maxAbsDiff(sum, new Float64Array(n * n))).toBeLessThan(1e-6);
  });

  it('maps to a tangent space whose norms are the Riemannian distances to the reference, pyRiemann up to a rotation', () => {
    const ts = TangentSpace.fit(covs, n);
    const work = new Float64Array(n * n);
    const invSqrtRef = ops.invSqrt(ts.reference, new Float64Array(n * n));
    // pyRiemann's vectors (symmetric whitener M^-1/2) and ours (Cholesky whitener) differ by a
    // rotation: every inner product between two trials' vectors is the same.
    const symmetric = (c: Float64Array): number[] => {
      const log = ops.log(ops.congruence(invSqrtRef, c, new Float64Array(n * n)), new Float64Array(n * n));
      return Array.from({ length: n }, (_, i) => Array.from({ length: n - i }, (_, k) => (k === 0 ? 1 : Math.SQRT2) * log[i * n + i + k])).flat();
    };
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((acc, v, i) => acc + v * b[i], 0);
    for (const [i, j] of [
      [0, 1],
      [2, 7],
      [5, 5],
    ]) {
      expect(dot(ts.transform(covs[i]), ts.transform(covs[j]))).toBeCloseTo(dot(symmetric(covs[i]), symmetric(covs[j])), 10);
    }
    for (const c of covs.slice(0, 4)) {
      const v = ts.transform(c);
      expect(v).toHaveLength((n * (n + 1)) / 2);
      const norm = Math.hypot(...v);
      expect(norm).toBeCloseTo(ops.distanceFromWhitener(invSqrtRef, c, work), 10);
    }
  });

  it('MDM separates two known class centres, with probabilities from distances', () => {
    const rng2 = new Random(9);
    const centre = (scale: number[]): Float64Array => {
      const m = new Float64Array(n * n);
      scale.forEach((s, i) => (m[i * n + i] = s));
      return m;
    };
    const a = centre([4, 1, 1, 1, 1, 1]);
    const b = centre([1, 1, 1, 1, 1, 4]);
    // Trials: the class centre, congruence-perturbed by I + small noise.
    const trial = (c: Float64Array): Float64Array => {
      const e = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) e[i * n + j] = (i === j ? 1 : 0) + 0.15 * rng2.normal();
      const out = mul(
        mul(e, c, n),
        Float64Array.from({ length: n * n }, (_, k) => e[(k % n) * n + Math.floor(k / n)]),
        n,
      );
      return out;
    };
    const train = [...Array.from({ length: 20 }, () => trial(a)), ...Array.from({ length: 20 }, () => trial(b))];
    const labels = [...new Array<string>(20).fill('a'), ...new Array<string>(20).fill('b')];
    const mdm = Mdm.fit(train, labels, n);
    let correct = 0;
    for (let i = 0; i < 20; i++) {
      const pa = mdm.probabilities(trial(a));
      const pb = mdm.probabilities(trial(b));
      expect(pa[0] + pa[1]).toBeCloseTo(1, 12);
      if (pa[0] > 0.5) correct++;
      if (pb[1] > 0.5) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(38);
  });

  it('re-centring moves a session mean to the identity', () => {
    const r = Recenter.fit(covs, n);
    const centred = covs.map((c) => r.apply(c));
    const m = riemannMean(centred, n);
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    expect(maxAbsDiff(m, eye)).toBeLessThan(1e-6);
  });
});

describe('logistic regression (scikit-learn fixture)', () => {
  for (const c of fixture.logisticRegression) {
    it(`${c.name}: probabilities within 1e-4 of scikit-learn's`, () => {
      const lr = LogisticRegression.fit(c.trainX, c.trainY, { c: 1 });
      expect(lr.classes).toEqual(c.classes);
      const ours = c.testX.flatMap((x) => Array.from(lr.probabilities(x)));
      expect(maxAbsDiff(ours, c.probabilities.flat())).toBeLessThan(1e-4);
    });
  }

  it('names the problem with its input', () => {
    expect(() => LogisticRegression.fit([[1], [2]], ['a', 'a'])).toThrow(/at least two classes/);
    expect(() => LogisticRegression.fit([[1, 2], [2]], ['a', 'b'])).toThrow(/feature vector 1 has 1 values, expected 2/);
  });
});

describe('Ledoit-Wolf intensity of stacked blocks (CSP regularisation)', () => {
  it('equals the analytic estimate on the stacked samples as one matrix', () => {
    const rng = new Random(21);
    const p = 5;
    const blocks = [37, 50, 13].map((samples) => ({ samples, data: Float32Array.from({ length: samples * p }, (_, i) => rng.normal() * (1 + (i % p))) }));
    const rows = blocks.flatMap((b) => Array.from({ length: b.samples }, (_, s) => Array.from(b.data.subarray(s * p, (s + 1) * p))));
    const expected = ledoitWolfShrinkage(new Matrix(rows));
    expect(expected).toBeGreaterThan(0);
    expect(ledoitWolfOfBlocks(blocks, p)).toBeCloseTo(expected, 12);
  });
});
