import { Matrix, SVD } from 'ml-matrix';
import { z } from 'zod';
import { issueLines } from '../util/zod-issues.js';
import { multiplyTransposed } from './linalg/multiply-transposed.js';
import { solveShiftedTridiagonal, tridiagonalize, type Tridiagonal } from './linalg/tridiagonal.js';
import { choleskySolveInPlace } from './linalg/cholesky.js';

/**
 * Multi-output ridge regression, X (n x p) -> Y (n x d), with an unpenalised intercept (X and Y
 * centred on their training means), the regularisation chosen by cross-validation. The linear
 * baseline of MEG image decoding: a flattened epoch (channels x time bins) to an image embedding.
 *
 * Closed form, one decomposition for every alpha:
 * - primal (n >= p): the thin SVD Xc = U S Vᵀ (ml-matrix); W = V diag(s / (s² + α)) Uᵀ Yc.
 * - dual (p > n, e.g. 306 channels x 40 bins = 12k features and a few thousand epochs): the
 *   centred kernel Kc = Xc Xcᵀ (n x n), tridiagonalised once, Kc = Q T Qᵀ (linalg/tridiagonal.ts);
 *   (Kc + αI)⁻¹ = Q (T + αI)⁻¹ Qᵀ costs an O(n) solve per column for any α, and
 *   W = Xcᵀ (Kc + αI)⁻¹ Yc. Cost: n²p/2 for the kernel plus ~(4/3)n³ for T and Q, then ~n²d per
 *   alpha; no p x p matrix is formed.
 * The intercept is ȳ - x̄ᵀW.
 *
 * Choosing alpha: every value of the grid is scored by grouped cross-validation on the training
 * set, computed exactly without refitting. For ridge with an unpenalised intercept the residuals
 * of a fold F left out of the fit are e_F = ((I - H)_FF)⁻¹ ((I - H) Y)_F, H the hat matrix of the
 * full fit (H = 11ᵀ/n + Kc (Kc + αI)⁻¹); this is what refitting without F (means included)
 * would predict, and it needs only H's diagonal block of F. Folds are groups: epochs of the same
 * image (or whatever `groups` names) never straddle training and validation, so a repeated
 * stimulus cannot leak its own target. By default every group is its own fold (leave one group
 * out, the grouped version of scikit-learn RidgeCV's efficient leave-one-out): with small groups
 * its blocks are tiny and the whole grid costs little beyond the decomposition. `folds: k` deals
 * the groups into k folds instead (group i in order of first appearance goes to fold i mod k);
 * exact too, but its blocks are n/k wide, which costs ~n³/k more per alpha.
 * Criterion (default 'cosine'): the mean cosine similarity between held-out predictions and
 * their targets, both minus the target mean of the fold's training part. Retrieval ranks gallery
 * images by similarity to the prediction, and the mean is the same for every prediction: it
 * carries nothing about the image and only biases the ranking towards central images. An
 * uncentred cosine (or the mean squared error) rewards shrinking every prediction towards the
 * mean, and on noisy single-trial MEG it picks alphas so large that retrieval drops to chance
 * while a smaller alpha retrieves well above it; `predictDeviation` gives the centred prediction
 * for retrieval. 'mse': the mean squared error, for plain regression.
 *
 * Default grid: 17 values, 10^-2 .. 10^6 in half decades, times the mean squared singular value
 * of Xc (trace(XcᵀXc) / min(n, p)), so the grid follows the data's scale (MEG in tesla is
 * ~1e-13). Ties go to the larger alpha.
 *
 * Measured on a 2-core machine (d = 64, the default 17 alphas, leave one group of 2 out;
 * bench/meg-retrieval.bench.ts): p = 12,240 features (306 channels x 40 bins) and n = 1000 epochs
 * in ~6 s, n = 2000 in ~24 s (kernel ~12 s, tridiagonalisation ~7 s, the alpha grid and the
 * weights ~5 s); n = 192 (one synthetic subject) in 0.3 s.
 */

export type RidgeCriterion = 'cosine' | 'mse';
export type RidgeSolver = 'auto' | 'primal' | 'dual';

export interface RidgeOptions {
  /** A fixed alpha (> 0): no cross-validation. */
  alpha?: number;
  /** Absolute alphas to cross-validate (> 0). Default: `relativeAlphas` times the data's scale. */
  alphas?: readonly number[];
  /** Alphas relative to the mean squared singular value of Xc (default 10^-2 .. 10^6, half decades). */
  relativeAlphas?: readonly number[];
  /** One per sample; samples of a group stay in one fold (default: every sample its own group). */
  groups?: readonly (string | number)[];
  /** Folds over the groups (>= 2); default: leave one group out. */
  folds?: number;
  criterion?: RidgeCriterion;
  /**
   * 'auto' (default): dual when p > n, else primal. The primal SVD (ml-matrix, nested arrays)
   * costs ~n p² and suits p up to a few hundred; with thousands of features use the dual.
   */
  solver?: RidgeSolver;
}

export interface RidgeCv {
  readonly alphas: readonly number[];
  /** Criterion per alpha (mean centred cosine similarity, or minus the mean squared error). */
  readonly scores: readonly number[];
  readonly criterion: RidgeCriterion;
  /** Number of folds used. */
  readonly folds: number;
}

export const DEFAULT_RELATIVE_ALPHAS: readonly number[] = Array.from({ length: 17 }, (_, k) => 10 ** (-2 + 0.5 * k));

export const RIDGE_FORMAT = 'neurorx.ridge';

const ridgeSchema = z
  .object({
    format: z.literal(RIDGE_FORMAT),
    version: z.literal(1),
    inputs: z.number().int().min(1),
    outputs: z.number().int().min(1),
    alpha: z.number().positive(),
    weights: z.array(z.number()),
    intercept: z.array(z.number()),
    targetMean: z.array(z.number()),
    cv: z
      .object({
        alphas: z.array(z.number().positive()),
        scores: z.array(z.number().or(z.null())),
        criterion: z.enum(['cosine', 'mse']),
        folds: z.number().int().min(2),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.weights.length !== r.inputs * r.outputs) ctx.addIssue({ code: 'custom', path: ['weights'], message: `expected inputs x outputs = ${r.inputs * r.outputs} values, got ${r.weights.length}` });
    if (r.intercept.length !== r.outputs) ctx.addIssue({ code: 'custom', path: ['intercept'], message: `expected ${r.outputs} values (outputs), got ${r.intercept.length}` });
    if (r.targetMean.length !== r.outputs) ctx.addIssue({ code: 'custom', path: ['targetMean'], message: `expected ${r.outputs} values (outputs), got ${r.targetMean.length}` });
    if (r.cv && r.cv.scores.length !== r.cv.alphas.length)
      ctx.addIssue({ code: 'custom', path: ['cv', 'scores'], message: `expected one score per alpha (${r.cv.alphas.length}), got ${r.cv.scores.length}` });
  });

export type RidgeJson = z.input<typeof ridgeSchema>;

export class Ridge {
  /** Row-major p x d. */
  readonly weights: Float64Array;
  readonly intercept: Float64Array;
  /** Mean of the training targets (the prediction for the mean input). */
  readonly targetMean: Float64Array;
  private readonly acc: Float64Array;

  private constructor(
    readonly p: number,
    readonly d: number,
    readonly alpha: number,
    weights: Float64Array,
    intercept: Float64Array,
    targetMean: Float64Array,
    /** The cross-validation that chose alpha (absent for a fixed alpha). */
    readonly cv?: RidgeCv,
  ) {
    this.weights = weights;
    this.intercept = intercept;
    this.targetMean = targetMean;
    this.acc = new Float64Array(d);
  }

  /**
   * Fits X (n x p, row-major) to Y (n x d, row-major). X and Y are read, not kept or changed
   * (Float32Array or Float64Array alike).
   */
  static fit(x: ArrayLike<number>, n: number, p: number, y: ArrayLike<number>, d: number, opts: RidgeOptions = {}): Ridge {
    for (const [v, what] of [
      [n, 'n'],
      [p, 'p'],
      [d, 'd'],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`ridge: ${what} must be a positive integer, got ${v}`);
    }
    if (x.length !== n * p) throw new Error(`ridge: X has ${x.length} values, expected n x p = ${n * p}`);
    if (y.length !== n * d) throw new Error(`ridge: Y has ${y.length} values, expected n x d = ${n * d}`);
    checkFinite(x, 'X');
    checkFinite(y, 'Y');
    const criterion = opts.criterion ?? 'cosine';
    if (criterion !== 'cosine' && criterion !== 'mse') throw new Error(`ridge: criterion must be cosine or mse, got ${String(criterion)}`);
    const solver = opts.solver ?? 'auto';
    if (solver !== 'auto' && solver !== 'primal' && solver !== 'dual') throw new Error(`ridge: solver must be auto, primal or dual, got ${String(solver)}`);
    if (opts.alpha !== undefined && !(Number.isFinite(opts.alpha) && opts.alpha > 0)) throw new Error(`ridge: alpha must be a positive number, got ${opts.alpha}`);

    const xm = new Float64Array(p);
    for (let i = 0; i < n; i++) for (let q = 0; q < p; q++) xm[q] += x[i * p + q];
    for (let q = 0; q < p; q++) xm[q] /= n;
    const ym = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) ym[j] += y[i * d + j];
    for (let j = 0; j < d; j++) ym[j] /= n;
    const yc = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) yc[i * d + j] = y[i * d + j] - ym[j];

    const useDual = solver === 'dual' || (solver === 'auto' && p > n);
    const engine: Engine = useDual ? new DualEngine(x, n, p, xm, yc, d) : new PrimalEngine(x, n, p, xm, yc, d);

    let alpha: number;
    let cv: RidgeCv | undefined;
    if (opts.alpha !== undefined) {
      alpha = opts.alpha;
    } else {
      const alphas = opts.alphas ? [...opts.alphas] : (opts.relativeAlphas ?? DEFAULT_RELATIVE_ALPHAS).map((r) => r * engine.scale);
      if (alphas.length === 0) throw new Error('ridge: no alphas to choose from');
      for (const a of alphas) if (!(Number.isFinite(a) && a > 0)) throw new Error(`ridge: alphas must be positive numbers, got ${a}`);
      const blocks = makeFolds(n, opts.groups, opts.folds);
      const scores = alphas.map((a) => cvScore(engine, a, blocks, y, d, criterion));
      let best = 0;
      for (let k = 1; k < alphas.length; k++) {
        const better = scores[k] > scores[best] || (scores[k] === scores[best] && alphas[k] > alphas[best]);
        if (better || (Number.isNaN(scores[best]) && !Number.isNaN(scores[k]))) best = k;
      }
      if (!Number.isFinite(scores[best])) throw new Error('ridge: cross-validation failed for every alpha');
      alpha = alphas[best];
      cv = { alphas, scores, criterion, folds: blocks.length };
    }
    const w = engine.weights(alpha);
    const b = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let s = ym[j];
      for (let q = 0; q < p; q++) s -= xm[q] * w[q * d + j];
      b[j] = s;
    }
    return new Ridge(p, d, alpha, w, b, ym, cv);
  }

  /** Prediction for one input row `x` (p values), written into `out` (d values). */
  predict<T extends Float32Array | Float64Array = Float32Array>(x: ArrayLike<number>, out?: T): T {
    const { p, d, weights: w, acc } = this;
    if (x.length !== p) throw new Error(`ridge: input has ${x.length} values, expected ${p}`);
    const o = out ?? (new Float32Array(d) as T);
    if (o.length < d) throw new Error(`ridge: output holds ${o.length} values, expected ${d}`);
    acc.set(this.intercept);
    for (let q = 0; q < p; q++) {
      const v = x[q];
      if (v === 0) continue;
      const r = q * d;
      for (let j = 0; j < d; j++) acc[j] += v * w[r + j];
    }
    for (let j = 0; j < d; j++) o[j] = acc[j];
    return o;
  }

  /**
   * The prediction minus the training target mean, into `out`: the query to retrieve with (the
   * mean is common to every prediction; see the note on the criterion).
   */
  predictDeviation<T extends Float32Array | Float64Array = Float32Array>(x: ArrayLike<number>, out?: T): T {
    const o = this.predict(x, out);
    for (let j = 0; j < this.d; j++) o[j] -= this.targetMean[j];
    return o;
  }

  /**
   * Predictions for n rows of X (n x p) into `out` (n x d); with `deviation`, minus the training
   * target mean (as `predictDeviation`: the queries to retrieve with).
   */
  predictBatch(x: ArrayLike<number>, n: number, out: Float32Array | Float64Array = new Float32Array(n * this.d), opts: { deviation?: boolean } = {}): Float32Array | Float64Array {
    const { p, d } = this;
    if (x.length !== n * p) throw new Error(`ridge: X has ${x.length} values, expected ${n} x ${p}`);
    if (out.length < n * d) throw new Error(`ridge: output holds ${out.length} values, expected ${n} x ${d}`);
    const row = new Float64Array(p);
    const res = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let q = 0; q < p; q++) row[q] = x[i * p + q];
      if (opts.deviation) this.predictDeviation(row, res);
      else this.predict(row, res);
      for (let j = 0; j < d; j++) out[i * d + j] = res[j];
    }
    return out;
  }

  toJSON(): RidgeJson {
    return {
      format: RIDGE_FORMAT,
      version: 1,
      inputs: this.p,
      outputs: this.d,
      alpha: this.alpha,
      weights: Array.from(this.weights),
      intercept: Array.from(this.intercept),
      targetMean: Array.from(this.targetMean),
      ...(this.cv ? { cv: { alphas: [...this.cv.alphas], scores: this.cv.scores.map((s) => (Number.isFinite(s) ? s : null)), criterion: this.cv.criterion, folds: this.cv.folds } } : {}),
    };
  }

  /** Validates a `neurorx.ridge` document (errors name the field). */
  static fromJSON(json: unknown, source = 'ridge'): Ridge {
    const r = ridgeSchema.safeParse(json);
    if (!r.success) throw new Error(`${source}: invalid ridge model\n${issueLines(r.error)}`);
    const m = r.data;
    const cv = m.cv ? { alphas: m.cv.alphas, scores: m.cv.scores.map((s) => s ?? -Infinity), criterion: m.cv.criterion, folds: m.cv.folds } : undefined;
    return new Ridge(m.inputs, m.outputs, m.alpha, Float64Array.from(m.weights), Float64Array.from(m.intercept), Float64Array.from(m.targetMean), cv);
  }
}

function checkFinite(a: ArrayLike<number>, what: string): void {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`ridge: ${what}[${i}] is ${a[i]}`);
}

/**
 * The validation blocks: with `folds` undefined (or at least the number of groups) one per group,
 * else groups dealt into `folds` folds by order of first appearance.
 */
function makeFolds(n: number, groups: readonly (string | number)[] | undefined, folds: number | undefined): number[][] {
  if (groups && groups.length !== n) throw new Error(`ridge: ${groups.length} groups for ${n} samples`);
  const byGroup = new Map<string | number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups ? groups[i] : i;
    let members = byGroup.get(g);
    if (!members) byGroup.set(g, (members = []));
    members.push(i);
  }
  const list = [...byGroup.values()];
  if (list.length < 2) throw new Error(`ridge: cross-validation needs at least 2 groups, got ${list.length}`);
  if (folds === undefined || folds >= list.length) return list;
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`ridge: folds must be an integer >= 2, got ${folds}`);
  const out: number[][] = Array.from({ length: folds }, () => []);
  list.forEach((members, k) => out[k % folds].push(...members));
  return out.map((f) => f.sort((a, b) => a - b));
}

/** What the cross-validation needs from a decomposition. */
interface Engine {
  /** Mean squared singular value of Xc. */
  readonly scale: number;
  setAlpha(alpha: number): void;
  /**
   * For the samples `idx` (one fold): (I - H)_FF into `blk` (g x g, row-major) and the rows of
   * (I - H) Y into `res` (g x d).
   */
  block(idx: readonly number[], blk: Float64Array, res: Float64Array): void;
  /** W (p x d) for `alpha`. */
  weights(alpha: number): Float64Array;
}

/** Mean held-out criterion of one alpha. */
function cvScore(engine: Engine, alpha: number, blocks: readonly number[][], y: ArrayLike<number>, d: number, criterion: RidgeCriterion): number {
  engine.setAlpha(alpha);
  const n = y.length / d;
  const ySum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) ySum[j] += y[i * d + j];
  let total = 0;
  let count = 0;
  let maxG = 0;
  for (const b of blocks) maxG = Math.max(maxG, b.length);
  const blk = new Float64Array(maxG * maxG);
  const res = new Float64Array(maxG * d);
  const centre = new Float64Array(d);
  for (const idx of blocks) {
    const g = idx.length;
    engine.block(idx, blk, res);
    // e = blk⁻¹ res (blk is symmetric positive definite unless the fold is the whole set).
    if (!choleskySolveInPlace(blk, g, res, d)) return -Infinity;
    if (criterion === 'cosine') {
      // Target mean of the samples outside the fold (what a model fitted without it centres on).
      centre.set(ySum);
      for (const i of idx) for (let j = 0; j < d; j++) centre[j] -= y[i * d + j];
      for (let j = 0; j < d; j++) centre[j] /= n - g;
    }
    for (let a = 0; a < g; a++) {
      const i = idx[a];
      if (criterion === 'mse') {
        let s = 0;
        for (let j = 0; j < d; j++) s += res[a * d + j] * res[a * d + j];
        total -= s / d;
      } else {
        // Held-out prediction y - e against the target y, both minus the centre.
        let dot = 0;
        let pp = 0;
        let yy = 0;
        for (let j = 0; j < d; j++) {
          const t = y[i * d + j] - centre[j];
          const pr = t - res[a * d + j];
          dot += pr * t;
          pp += pr * pr;
          yy += t * t;
        }
        total += pp > 0 && yy > 0 ? dot / Math.sqrt(pp * yy) : 0;
      }
      count++;
    }
  }
  return total / count;
}

/** Primal form through ml-matrix's SVD of Xc: H = 11ᵀ/n + U diag(s² / (s² + α)) Uᵀ. */
class PrimalEngine implements Engine {
  readonly scale: number;
  private readonly u: Float64Array;
  private readonly r: number;
  private readonly s: Float64Array;
  private readonly v: Matrix;
  /** Uᵀ Yc (r x d). */
  private readonly uty: Float64Array;
  private readonly shrink: Float64Array;

  constructor(
    x: ArrayLike<number>,
    private readonly n: number,
    private readonly p: number,
    xm: Float64Array,
    private readonly yc: Float64Array,
    private readonly d: number,
  ) {
    const xc = new Matrix(n, p);
    for (let i = 0; i < n; i++) for (let q = 0; q < p; q++) xc.set(i, q, x[i * p + q] - xm[q]);
    const svd = new SVD(xc, { computeLeftSingularVectors: true, computeRightSingularVectors: true, autoTranspose: true });
    const um = svd.leftSingularVectors;
    const sv = svd.diagonal;
    const r = Math.min(sv.length, um.columns);
    this.r = r;
    this.s = Float64Array.from(sv.slice(0, r));
    this.u = new Float64Array(n * r);
    for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) this.u[i * r + k] = um.get(i, k);
    this.v = svd.rightSingularVectors;
    let ss = 0;
    for (let k = 0; k < r; k++) ss += this.s[k] * this.s[k];
    this.scale = ss > 0 ? ss / Math.min(n, p) : 1;
    this.uty = new Float64Array(r * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < r; k++) {
        const uik = this.u[i * r + k];
        for (let j = 0; j < d; j++) this.uty[k * d + j] += uik * yc[i * d + j];
      }
    }
    this.shrink = new Float64Array(r);
  }

  setAlpha(alpha: number): void {
    for (let k = 0; k < this.r; k++) {
      const s2 = this.s[k] * this.s[k];
      this.shrink[k] = s2 / (s2 + alpha);
    }
  }

  block(idx: readonly number[], blk: Float64Array, res: Float64Array): void {
    const { u, r, shrink: w, uty, yc, d, n } = this;
    const g = idx.length;
    for (let a = 0; a < g; a++) {
      const ra = idx[a] * r;
      for (let b = 0; b <= a; b++) {
        const rb = idx[b] * r;
        let s = 0;
        for (let k = 0; k < r; k++) s += u[ra + k] * w[k] * u[rb + k];
        const v = (a === b ? 1 : 0) - 1 / n - s;
        blk[a * g + b] = v;
        blk[b * g + a] = v;
      }
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += u[ra + k] * w[k] * uty[k * d + j];
        res[a * d + j] = yc[idx[a] * d + j] - s;
      }
    }
  }

  weights(alpha: number): Float64Array {
    const { r, s, v, uty, d, p } = this;
    const out = new Float64Array(p * d);
    for (let k = 0; k < r; k++) {
      const f = s[k] / (s[k] * s[k] + alpha);
      if (!(s[k] > 0)) continue;
      for (let q = 0; q < p; q++) {
        const vqk = v.get(q, k) * f;
        if (vqk === 0) continue;
        for (let j = 0; j < d; j++) out[q * d + j] += vqk * uty[k * d + j];
      }
    }
    return out;
  }
}

/** Feature columns per tile of the kernel and weight products (a tile of n rows stays in cache). */
const TILE = 256;

/**
 * Dual (kernel) form: Kc = Xc Xcᵀ = Q T Qᵀ; M = (Kc + αI)⁻¹ = Q (T + αI)⁻¹ Qᵀ,
 * I - H = αM - 11ᵀ/n, (I - H) Y = α M Yc, W = Xcᵀ M Yc.
 */
class DualEngine implements Engine {
  readonly scale: number;
  private readonly tri: Tridiagonal;
  /** Qᵀ Yc (n x d). */
  private readonly qty: Float64Array;
  private alpha = 1;
  /** (I - H) Y for the current alpha (n x d). */
  private readonly resid: Float64Array;
  private rows = new Float64Array(0);
  private readonly work: Float64Array;

  constructor(
    private readonly x: ArrayLike<number>,
    private readonly n: number,
    private readonly p: number,
    private readonly xm: Float64Array,
    yc: Float64Array,
    private readonly d: number,
  ) {
    const k = centredGram(x, n, p, xm);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += k[i * n + i];
    this.scale = trace > 0 ? trace / Math.min(n, p) : 1;
    this.tri = tridiagonalize(k, n);
    const q = this.tri.q;
    this.qty = new Float64Array(n * d);
    // qty[c, :] = Σ_i Q[i, c] Yc[i, :]
    for (let i = 0; i < n; i++) {
      const qi = i * n;
      const yi = i * d;
      for (let c = 0; c < n; c++) {
        const f = q[qi + c];
        const o = c * d;
        for (let j = 0; j < d; j++) this.qty[o + j] += f * yc[yi + j];
      }
    }
    this.resid = new Float64Array(n * d);
    this.work = new Float64Array(n);
  }

  /** Q (T + αI)⁻¹ Qᵀ Yc = M Yc (n x d). */
  private mYc(alpha: number, out: Float64Array): Float64Array {
    const { n, d, tri, qty } = this;
    const z = solveShiftedTridiagonal(tri.diag, tri.off, alpha, qty, d, new Float64Array(n * d), this.work);
    const zt = new Float64Array(d * n);
    for (let c = 0; c < n; c++) for (let j = 0; j < d; j++) zt[j * n + c] = z[c * d + j];
    multiplyTransposed(tri.q, n, n, zt, n, d, n, out, d);
    return out;
  }

  setAlpha(alpha: number): void {
    this.alpha = alpha;
    const r = this.mYc(alpha, this.resid);
    for (let i = 0; i < r.length; i++) r[i] *= alpha;
  }

  block(idx: readonly number[], blk: Float64Array, res: Float64Array): void {
    const { n, d, alpha, tri, work, resid } = this;
    const q = tri.q;
    const g = idx.length;
    if (this.rows.length < g * n) this.rows = new Float64Array(g * n);
    const rows = this.rows;
    // rows[a] = Q_a (T + αI)⁻¹, so that M_ab = rows[a] · Q_b.
    for (let a = 0; a < g; a++) {
      solveShiftedTridiagonal(tri.diag, tri.off, alpha, q.subarray(idx[a] * n, idx[a] * n + n), 1, rows.subarray(a * n, (a + 1) * n), work);
    }
    for (let a = 0; a < g; a++) {
      const ra = a * n;
      for (let b = 0; b <= a; b++) {
        const qb = idx[b] * n;
        let s0 = 0;
        let s1 = 0;
        let c = 0;
        for (; c + 2 <= n; c += 2) {
          s0 += rows[ra + c] * q[qb + c];
          s1 += rows[ra + c + 1] * q[qb + c + 1];
        }
        if (c < n) s0 += rows[ra + c] * q[qb + c];
        const v = alpha * (s0 + s1) - 1 / n;
        blk[a * g + b] = v;
        blk[b * g + a] = v;
      }
      res.set(resid.subarray(idx[a] * d, idx[a] * d + d), a * d);
    }
  }

  weights(alpha: number): Float64Array {
    const { n, p, d, x, xm } = this;
    // A = M Yc (n x d); W = Xcᵀ A, a tile of features at a time: W[tile] = tileᵀ-rows · Aᵀ-rows.
    const a = this.mYc(alpha, new Float64Array(n * d));
    const at = new Float64Array(d * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) at[j * n + i] = a[i * d + j];
    const w = new Float64Array(p * d);
    const tileT = new Float64Array(TILE * n);
    for (let q0 = 0; q0 < p; q0 += TILE) {
      const tw = Math.min(TILE, p - q0);
      for (let i = 0; i < n; i++) {
        const xi = i * p + q0;
        for (let c = 0; c < tw; c++) tileT[c * n + i] = x[xi + c] - xm[q0 + c];
      }
      multiplyTransposed(tileT, n, tw, at, n, d, n, w.subarray(q0 * d, (q0 + tw) * d), d);
    }
    return w;
  }
}

/**
 * Kc = Xc Xcᵀ (n x n, both triangles), Xc = X minus the column means `xm`: tiles of TILE feature
 * columns are centred into a Float64 buffer and their products accumulated over the lower
 * triangle, then mirrored.
 */
export function centredGram(x: ArrayLike<number>, n: number, p: number, xm: ArrayLike<number>): Float64Array {
  const k = new Float64Array(n * n);
  const buf = new Float64Array(n * TILE);
  for (let q0 = 0; q0 < p; q0 += TILE) {
    const tw = Math.min(TILE, p - q0);
    for (let i = 0; i < n; i++) {
      const xi = i * p + q0;
      const bi = i * tw;
      for (let c = 0; c < tw; c++) buf[bi + c] = x[xi + c] - xm[q0 + c];
    }
    multiplyTransposed(buf, tw, n, buf, tw, n, tw, k, n, { accumulate: true, lower: true });
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) k[j * n + i] = k[i * n + j];
  return k;
}
