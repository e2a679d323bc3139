import { minimizeLbfgs } from './lbfgs.js';
import { softmaxInPlace } from './softmax.js';

export interface LogisticRegressionOptions {
  /** Inverse L2 regularisation strength, as scikit-learn's C (default 1). */
  c?: number;
  maxIterations?: number;
}

export interface LogisticRegressionState {
  readonly classes: readonly string[];
  /** classes x features; for two classes the rows are ∓w/2 so softmax equals the logistic. */
  readonly coef: number[][];
  readonly intercept: number[];
}

/**
 * L2-regularised logistic regression fitted by L-BFGS, with scikit-learn's objective
 * C·Σ log-loss + ½‖w‖² (intercept not penalised): the binary logistic model for two classes,
 * the multinomial (softmax) model for more.
 */
export class LogisticRegression {
  private readonly flat: Float64Array;
  private readonly p: number;

  constructor(readonly state: LogisticRegressionState) {
    this.p = state.coef[0]?.length ?? 0;
    if (state.coef.length !== state.classes.length || state.intercept.length !== state.classes.length) {
      throw new Error(`logistic regression: ${state.classes.length} classes but ${state.coef.length} coefficient rows and ${state.intercept.length} intercepts`);
    }
    if (state.coef.some((r) => r.length !== this.p)) throw new Error('logistic regression: coefficient rows differ in length');
    this.flat = Float64Array.from(state.coef.flat());
  }

  get classes(): readonly string[] {
    return this.state.classes;
  }

  static fit(features: readonly ArrayLike<number>[], labels: readonly string[], opts: LogisticRegressionOptions = {}): LogisticRegression {
    if (features.length !== labels.length) throw new Error(`logistic regression: ${features.length} feature vectors but ${labels.length} labels`);
    if (features.length === 0) throw new Error('logistic regression: no training data');
    const c = opts.c ?? 1;
    if (!(c > 0)) throw new Error(`logistic regression: C must be positive, got ${c}`);
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`logistic regression: at least two classes needed, got ${classes.join(', ') || 'none'}`);
    const n = features.length;
    const p = features[0].length;
    const x = new Float64Array(n * p);
    features.forEach((f, i) => {
      if (f.length !== p) throw new Error(`logistic regression: feature vector ${i} has ${f.length} values, expected ${p}`);
      for (let j = 0; j < p; j++) x[i * p + j] = f[j];
    });
    const y = Int32Array.from(labels, (l) => classes.indexOf(l));
    // With fewer trials than features (tangent vectors: thousands of features, tens of trials) the
    // L2 solution lies in the span of the trials, w = Σ α_i x_i: solve for α against the Gram
    // matrix K = X X^T (n x n) instead, same optimum, far smaller problem.
    const kernel = n < p;
    const design = kernel ? gram(x, n, p) : x;
    const width = kernel ? n : p;
    const k = classes.length === 2 ? 1 : classes.length;
    const theta = minimizeLbfgs((t, grad) => objective(t, grad, design, y, n, width, k, c, kernel), new Float64Array(k * width + k), {
      maxIterations: opts.maxIterations ?? 500,
      gradientTolerance: 1e-5,
    }).x;
    // Back to per-feature weights: w_c = Σ_i α_ci x_i in the kernel form.
    const weights = Array.from({ length: k }, (_, cl) => {
      const a = theta.subarray(cl * width, (cl + 1) * width);
      if (!kernel) return Array.from(a);
      const w = new Array<number>(p).fill(0);
      for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) w[j] += a[i] * x[i * p + j];
      return w;
    });
    const bias = Array.from(theta.subarray(k * width));
    if (k === 1) {
      // One logistic score z: softmax over [-z/2, z/2] is the logistic of z.
      return new LogisticRegression({ classes, coef: [weights[0].map((v) => -v / 2), weights[0].map((v) => v / 2)], intercept: [-bias[0] / 2, bias[0] / 2] });
    }
    return new LogisticRegression({ classes, coef: weights, intercept: bias });
  }

  probabilities(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.classes.length)): Float64Array {
    const { p, flat } = this;
    for (let c = 0; c < this.classes.length; c++) {
      let z = this.state.intercept[c];
      const o = c * p;
      for (let j = 0; j < p; j++) z += flat[o + j] * x[j];
      out[c] = z;
    }
    return softmaxInPlace(out);
  }
}

/**
 * C·Σ log-loss + ½ θ'Pθ and its gradient, for the binary model (k = 1, labels 0/1) or the
 * multinomial one (k classes). θ = [weights (k x width), intercepts (k)]; the design rows are the
 * trials' features (P = I) or their Gram rows (kernel form, P = K).
 */
function objective(theta: Float64Array, grad: Float64Array, design: Float64Array, y: Int32Array, n: number, width: number, k: number, c: number, kernel: boolean): number {
  grad.fill(0);
  const z = new Float64Array(Math.max(k, 2));
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const o = i * width;
    for (let cl = 0; cl < k; cl++) {
      let v = theta[k * width + cl];
      const w = cl * width;
      for (let j = 0; j < width; j++) v += theta[w + j] * design[o + j];
      z[cl] = v;
    }
    if (k === 1) {
      const sign = y[i] === 1 ? 1 : -1;
      const m = sign * z[0];
      loss += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
      z[0] = (c * -sign) / (1 + Math.exp(m)); // C · d loss / d z
    } else {
      let max = -Infinity;
      for (let cl = 0; cl < k; cl++) max = Math.max(max, z[cl]);
      let sum = 0;
      for (let cl = 0; cl < k; cl++) sum += Math.exp(z[cl] - max);
      const logSum = max + Math.log(sum);
      loss += logSum - z[y[i]];
      for (let cl = 0; cl < k; cl++) z[cl] = c * (Math.exp(z[cl] - logSum) - (cl === y[i] ? 1 : 0));
    }
    for (let cl = 0; cl < k; cl++) {
      const r = z[cl];
      const w = cl * width;
      for (let j = 0; j < width; j++) grad[w + j] += r * design[o + j];
      grad[k * width + cl] += r;
    }
  }
  // Penalty ½ θ'Pθ: P = I on weights, or the Gram matrix (whose rows are the design rows).
  let reg = 0;
  for (let cl = 0; cl < k; cl++) {
    const w = cl * width;
    for (let j = 0; j < width; j++) {
      let pj = theta[w + j];
      if (kernel) {
        pj = 0;
        for (let m = 0; m < width; m++) pj += design[j * width + m] * theta[w + m];
      }
      reg += theta[w + j] * pj;
      grad[w + j] += pj;
    }
  }
  return c * loss + 0.5 * reg;
}

/** X X^T for n rows of p features. */
function gram(x: Float64Array, n: number, p: number): Float64Array {
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let f = 0; f < p; f++) s += x[i * p + f] * x[j * p + f];
      k[i * n + j] = s;
      k[j * n + i] = s;
    }
  }
  return k;
}
