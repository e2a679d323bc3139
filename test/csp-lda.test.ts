import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Csp } from '../src/ml/csp.js';
import { Lda } from '../src/ml/lda.js';
import { FIXTURES } from './helpers/data.js';

interface Fixture {
  channels: number;
  samples: number;
  labels: string[];
  epochs: number[][];
  cspFeatures: number[][];
  lda_none: { classes: string[]; probabilities: number[][]; predictions: string[] };
  lda_auto: { classes: string[]; probabilities: number[][]; predictions: string[] };
}

const fx = JSON.parse(readFileSync(path.join(FIXTURES, 'csp-lda.json'), 'utf8')) as Fixture;
const blocks = fx.epochs.map((e) => ({ data: Float32Array.from(e), samples: fx.samples }));

describe('CSP against MNE-Python (mne.decoding.CSP, 4 components, log power)', () => {
  const csp = Csp.fit(blocks, fx.labels, fx.channels, { components: 4 });

  it('gives the same log-power features to 1e-6 (relative)', () => {
    let worst = 0;
    blocks.forEach((b, i) => {
      const ours = csp.logPower(b, fx.channels);
      fx.cspFeatures[i].forEach((ref, j) => {
        worst = Math.max(worst, Math.abs(ours[j] - ref) / Math.max(1, Math.abs(ref)));
      });
    });
    expect(worst).toBeLessThan(1e-6);
  });

  it('orders filters by distance of the eigenvalue from 0.5 and whitens the composite covariance', () => {
    const d = csp.state.eigenvalues.map((v) => Math.abs(v - 0.5));
    for (let i = 1; i < d.length; i++) expect(d[i]).toBeLessThanOrEqual(d[i - 1] + 1e-12);
    expect(csp.state.eigenvalues[0]).toBeGreaterThan(0.6);
  });

  it('rejects one class and too many components with clear errors', () => {
    expect(() => Csp.fit(blocks.slice(0, 5), fx.labels.slice(0, 5), fx.channels, { components: 2 })).toThrow(/two classes needed, got 1/);
    expect(() => Csp.fit(blocks, fx.labels, fx.channels, { components: 7 })).toThrow(/components must be an integer in 1\.\.6/);
  });

  it('survives rank-deficient data only when regularised', () => {
    // A duplicated channel makes the covariance singular.
    const dup = blocks.map((b) => {
      const d = new Float32Array(b.data.length);
      for (let s = 0; s < b.samples; s++) {
        for (let c = 0; c < fx.channels; c++) d[s * fx.channels + c] = b.data[s * fx.channels + c];
        d[s * fx.channels + 5] = d[s * fx.channels + 4];
      }
      return { data: d, samples: b.samples };
    });
    expect(() => Csp.fit(dup, fx.labels, fx.channels, { components: 2 })).toThrow(/singular/);
    const reg = Csp.fit(dup, fx.labels, fx.channels, { components: 2, regularization: 0.1 });
    expect(reg.state.filters).toHaveLength(2);
    const lw = Csp.fit(dup, fx.labels, fx.channels, { components: 2, regularization: 'ledoit-wolf' });
    expect(lw.state.filters).toHaveLength(2);
  });
});

describe('LDA against scikit-learn (solver lsqr)', () => {
  for (const [name, shrinkage] of [
    ['none', undefined],
    ['auto', 'auto'],
  ] as const) {
    it(`shrinkage ${name}: same probabilities to 1e-6 and same predictions`, () => {
      const ref = name === 'none' ? fx.lda_none : fx.lda_auto;
      const lda = Lda.fit(fx.cspFeatures, fx.labels, { shrinkage });
      expect(lda.state.classes).toEqual(ref.classes);
      let worst = 0;
      fx.cspFeatures.forEach((x, i) => {
        const p = lda.probabilities(x);
        ref.probabilities[i].forEach((r, k) => (worst = Math.max(worst, Math.abs(p[k] - r))));
        expect(lda.predict(x)).toBe(ref.predictions[i]);
      });
      expect(worst).toBeLessThan(1e-6);
    });
  }
});
