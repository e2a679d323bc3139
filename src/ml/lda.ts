import { Matrix, solve } from 'ml-matrix';
import { ledoitWolfShrinkage, shrink } from './covariance.js';
import { argmax, softmaxInPlace } from './softmax.js';

export interface LdaOptions {
  /** None (undefined/0), a fixed intensity in (0, 1], or "auto" (Ledoit-Wolf). */
  shrinkage?: number | 'auto';
}

export interface LdaState {
  readonly classes: readonly string[];
  /** classes x features */
  readonly coef: number[][];
  readonly intercept: number[];
  readonly priors: number[];
}

/**
 * Linear discriminant analysis with a shared covariance (the prior-weighted average of the class
 * covariances, optionally shrunk), as scikit-learn's "lsqr" solver: one linear score per class,
 * probabilities by softmax of the scores.
 */
export class Lda {
  constructor(readonly state: LdaState) {}

  static fit(features: readonly ArrayLike<number>[], labels: readonly string[], opts: LdaOptions = {}): Lda {
    if (features.length !== labels.length) throw new Error(`LDA: ${features.length} feature vectors but ${labels.length} labels`);
    if (features.length === 0) throw new Error('LDA: no training data');
    const p = features[0].length;
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`LDA: at least two classes needed, got ${classes.join(', ') || 'none'}`);
    const n = features.length;
    const means: number[][] = [];
    const priors: number[] = [];
    const cov = Matrix.zeros(p, p);
    for (const cls of classes) {
      const rows = features.filter((_, i) => labels[i] === cls);
      const mean = new Array<number>(p).fill(0);
      for (const r of rows) for (let j = 0; j < p; j++) mean[j] += r[j] / rows.length;
      const centred = new Matrix(rows.length, p);
      rows.forEach((r, i) => {
        for (let j = 0; j < p; j++) centred.set(i, j, r[j] - mean[j]);
      });
      let classCov = centred.transpose().mmul(centred).div(rows.length);
      if (opts.shrinkage === 'auto') classCov = shrinkStandardised(classCov, centred);
      else if (opts.shrinkage) classCov = shrink(classCov, opts.shrinkage);
      const prior = rows.length / n;
      cov.add(classCov.mul(prior));
      means.push(mean);
      priors.push(prior);
    }
    const meanMatrix = new Matrix(means); // classes x p
    let coefT: Matrix;
    try {
      coefT = solve(cov, meanMatrix.transpose()); // p x classes
    } catch (e) {
      throw new Error(`LDA: covariance is singular (${(e as Error).message}); use shrinkage`);
    }
    const coef = coefT.transpose().to2DArray();
    const intercept = classes.map((_, k) => {
      let q = 0;
      for (let j = 0; j < p; j++) q += means[k][j] * coef[k][j];
      return -0.5 * q + Math.log(priors[k]);
    });
    return new Lda({ classes, coef, intercept, priors });
  }

  /** Linear score of every class for feature vector `x`, written into `out`. */
  scores(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.state.classes.length)): Float64Array {
    const { coef, intercept } = this.state;
    for (let k = 0; k < coef.length; k++) {
      let v = intercept[k];
      const w = coef[k];
      for (let j = 0; j < w.length; j++) v += w[j] * x[j];
      out[k] = v;
    }
    return out;
  }

  /** Class probabilities (softmax of the scores), written into `out`. */
  probabilities(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.state.classes.length)): Float64Array {
    return softmaxInPlace(this.scores(x, out));
  }

  predict(x: ArrayLike<number>): string {
    return this.state.classes[argmax(this.scores(x))];
  }
}

/** Ledoit-Wolf shrinkage on standardised features, scaled back (scikit-learn's "auto"). */
function shrinkStandardised(cov: Matrix, centred: Matrix): Matrix {
  const p = cov.rows;
  const scale = Array.from({ length: p }, (_, j) => Math.sqrt(cov.get(j, j)) || 1);
  const z = centred.clone();
  for (let i = 0; i < z.rows; i++) for (let j = 0; j < p; j++) z.set(i, j, z.get(i, j) / scale[j]);
  const corr = z.transpose().mmul(z).div(z.rows);
  const shrunk = shrink(corr, ledoitWolfShrinkage(z));
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) shrunk.set(i, j, shrunk.get(i, j) * scale[i] * scale[j]);
  return shrunk;
}
