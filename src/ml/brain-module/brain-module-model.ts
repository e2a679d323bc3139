/**
 * A compact "brain module" for MEG image decoding (after Défossez et al. 2022 and Benchetrit et
 * al. 2023): it maps one MEG window, C sensors x T time points (already filtered and downsampled
 * by the caller), to a D-dimensional image embedding, trained with a contrastive CLIP loss
 * (clip-loss.ts, brain-module-trainer.ts). Written with plain tf.Variables.
 *
 * Input layout: a window is T x C values, time-major (sample-major, as `ImageEpoch.data` stores
 * them): value (t, c) at index t * C + c; n windows are n such blocks back to back. Each channel is
 * first scaled, (x - center_c) / scale_c, then clamped to +-inputClamp (centre and scale are
 * fitted by the trainer, robustly, and stored with the model; identity when created bare).
 *
 *  (a) spatial attention: S virtual channels, each a softmax-weighted sum of the C sensors. The
 *      score of sensor c for virtual channel s is a learned linear function of Fourier features of
 *      the sensor's 2-D position (cos and sin of 2*pi*(k*u + l*v)/(1 + 2*margin) over a half-plane
 *      grid of integer frequencies |k|, |l| < K, k > 0 or k = 0 <= l, so every plane-wave direction
 *      is there; (u, v) = the layout's positions scaled into [0, 1] by its bounding box, same scale
 *      on both axes, margin 0.1). No weight depends on C or on the sensors' order: permuting the
 *      sensors together with their positions gives the same output, and the weights carry over to
 *      another layout (the per-channel input scaling does not). Optional sensor types (e.g. magnetometers vs. gradiometers sharing a
 *      position) get separate coefficient sets. In training, `spatialDropout` > 0 removes, per
 *      batch, every sensor within that radius (in u, v units) of a random sensor's position
 *      before the softmax.
 *  (b) subject layer: one learned S x S matrix per subject (identity at initialisation), chosen per
 *      window by its subject index. Subject -1 (unknown, or `predict` without subjects) uses the
 *      mean of the subject matrices, i.e. the subject matrix with one subject.
 *  (c) residual temporal convolution blocks, one per entry of `dilations` (default 1, 2, 4):
 *      'same'-padded kernel `kernelSize` (default 3) with that dilation, optional layer norm over
 *      channels (off by default), ELU (default) or GELU (tanh form), and a residual connection
 *      when the block keeps its width (every block but the first, which maps S -> H). A
 *      convolution is a sum over taps of matMuls of time-shifted slices of the zero-padded
 *      sequence with the tap's rows of a [k * in, H] kernel: no conv kernels, so it trains on
 *      the wasm and cpu backends.
 *  (d) a 1 x 1 layer H -> F with the activation, temporal aggregation (a learned weight per time
 *      point shared by the F channels, initialised to the mean, or the plain mean), dropout in
 *      training (default 0.3), then a linear projection F -> D (or a 2-layer MLP, `head: 'mlp'`).
 *
 * Defaults: ELU without layer norm and feature dropout 0.3 generalised best to unseen images on
 * the synthetic retrieval problem of test/brain-module.test.ts (GELU and layer norm, which
 * Défossez et al. use, fitted the training images faster and retrieved new ones worse there);
 * they are not tuned on real MEG.
 *
 * The output is the raw embedding; the CLIP loss and retrieval L2-normalise it, an MSE term
 * compares it as is.
 *
 * Activations are laid out [rows = (window, time), columns = channels], so every dense step is a
 * 2-D matMul acting on the last axis of contiguous data. Windows of one batch are grouped by
 * subject so each subject's matrix multiplies one contiguous row block.
 *
 * Size with the defaults (S = 64, K = 6 -> 121 position features, H = 96, F = 128, 3 blocks,
 * no layer norm, learned aggregation, linear head) for C = 306, T = 100, D = 64, one subject:
 * 106,628 parameters (none depends on C). One window of 306 x 100 takes ~2 ms on wasm here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { constTimes, matMul2d, timesConst } from '../tfjs/mat-mul.js';
import { Random } from '../../util/random.js';
import type { SensorPosition } from '../../stream/types.js';

export interface BrainModuleSpec {
  /** Virtual channels S of the spatial attention (default 64). */
  readonly spatialChannels?: number;
  /** Fourier order K of the position features: integer frequencies |k|, |l| < K (default 6). */
  readonly fourierOrder?: number;
  /** Channels H of the temporal blocks (default 96). */
  readonly hidden?: number;
  /** One residual block per dilation (default [1, 2, 4]). */
  readonly dilations?: readonly number[];
  /** Odd temporal kernel size (default 3). */
  readonly kernelSize?: number;
  /** Channels F of the 1 x 1 layer before the temporal aggregation (default 128). */
  readonly featureChannels?: number;
  /** Default 'elu'; 'gelu' is the tanh approximation. */
  readonly activation?: 'gelu' | 'elu';
  /** Layer norm over channels in each block (default false). */
  readonly layerNorm?: boolean;
  /** 'learned' (a weight per time point, default) or 'mean'. */
  readonly aggregation?: 'learned' | 'mean';
  /** 'linear' (F -> D, default) or 'mlp' (F -> F, activation, F -> D). */
  readonly head?: 'linear' | 'mlp';
  /** Radius (normalised layout units, 0..1) of the sensors dropped per training batch (default 0.1; 0 = off). */
  readonly spatialDropout?: number;
  /** Dropout rate on the aggregated features (before the head) in training (default 0.3). */
  readonly dropout?: number;
  /** |value| limit after the per-channel scaling (default 20; 0 = no clamp). */
  readonly inputClamp?: number;
  /** Seed of the weight initialisation (default 1). */
  readonly seed?: number;
}

export interface ResolvedBrainModuleSpec {
  readonly spatialChannels: number;
  readonly fourierOrder: number;
  readonly hidden: number;
  readonly dilations: number[];
  readonly kernelSize: number;
  readonly featureChannels: number;
  readonly activation: 'gelu' | 'elu';
  readonly layerNorm: boolean;
  readonly aggregation: 'learned' | 'mean';
  readonly head: 'linear' | 'mlp';
  readonly spatialDropout: number;
  readonly dropout: number;
  readonly inputClamp: number;
  readonly seed: number;
}

/** Data-dependent sizes and the sensor layout of a model. */
export interface BrainModuleShape {
  /** One 2-D position per sensor, in the order of the input's channels. */
  readonly positions: readonly SensorPosition[];
  /** Optional type index per sensor (0..G-1, e.g. 0 = magnetometer, 1 = gradiometer); default all 0. */
  readonly sensorTypes?: readonly number[];
  /** Time points T per window. */
  readonly timePoints: number;
  /** Embedding dimension D. */
  readonly embeddingDim: number;
  /** Number of subjects P (default 1). */
  readonly subjectCount?: number;
  /** Per-channel centre and scale of the input (default 0 and 1); see `robustChannelScaling`. */
  readonly channelCenter?: ArrayLike<number>;
  readonly channelScale?: ArrayLike<number>;
}

export interface BrainModuleWeightState {
  readonly shape: number[];
  readonly values: number[];
}

/** What `toState` writes and `fromState` reads: plain JSON. */
export interface BrainModuleState {
  readonly format: 'neurorx-brain-module';
  readonly version: 1;
  readonly spec: ResolvedBrainModuleSpec;
  readonly positions: { x: number; y: number }[];
  readonly sensorTypes: number[];
  readonly timePoints: number;
  readonly embeddingDim: number;
  readonly subjectCount: number;
  readonly channelCenter: number[];
  readonly channelScale: number[];
  readonly weights: Record<string, BrainModuleWeightState>;
}

/** A contiguous run of a batch's windows from one subject (-1: unknown). */
export interface SubjectGroup {
  readonly subject: number;
  readonly start: number;
  readonly count: number;
}

/** A batch ready for `embed`: input rows, subject groups, and which window each row block is. */
export interface BrainModuleBatch {
  /** [n * T, C]: row i * T + t holds time point t of window order[i], scaled and clamped. */
  readonly x: tf.Tensor2D;
  readonly groups: SubjectGroup[];
  /** Window indices in batch order (grouped by subject, stable within a subject). */
  readonly order: number[];
}

interface Dims {
  readonly C: number;
  readonly T: number;
  readonly D: number;
  readonly P: number;
  /** Sensor types. */
  readonly G: number;
  readonly S: number;
  /** Position features. */
  readonly Q: number;
  readonly H: number;
  readonly F: number;
  readonly k: number;
}

/** Margin of the Fourier features' fundamental period around the [0, 1] layout. */
const FOURIER_MARGIN = 0.1;
const LN_EPSILON = 1e-5;
/** Sensor types are small indices (mag / grad / EEG ...); a larger one is more likely a mistake. */
const MAX_SENSOR_TYPES = 16;

function resolveSpec(spec: BrainModuleSpec): ResolvedBrainModuleSpec {
  const r: ResolvedBrainModuleSpec = {
    spatialChannels: spec.spatialChannels ?? 64,
    fourierOrder: spec.fourierOrder ?? 6,
    hidden: spec.hidden ?? 96,
    dilations: [...(spec.dilations ?? [1, 2, 4])],
    kernelSize: spec.kernelSize ?? 3,
    featureChannels: spec.featureChannels ?? 128,
    activation: spec.activation ?? 'elu',
    layerNorm: spec.layerNorm ?? false,
    aggregation: spec.aggregation ?? 'learned',
    head: spec.head ?? 'linear',
    spatialDropout: spec.spatialDropout ?? 0.1,
    dropout: spec.dropout ?? 0.3,
    inputClamp: spec.inputClamp ?? 20,
    seed: spec.seed ?? 1,
  };
  for (const key of ['spatialChannels', 'fourierOrder', 'hidden', 'kernelSize', 'featureChannels'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 1) throw new Error(`brain module: spec.${key} must be a positive integer, got ${r[key]}`);
  }
  if (r.kernelSize % 2 !== 1) throw new Error(`brain module: spec.kernelSize must be odd, got ${r.kernelSize}`);
  if (!Array.isArray(r.dilations) || r.dilations.length < 1 || r.dilations.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`brain module: spec.dilations must be a non-empty array of positive integers, got ${JSON.stringify(spec.dilations)}`);
  }
  if (r.activation !== 'gelu' && r.activation !== 'elu') throw new Error(`brain module: spec.activation must be 'gelu' or 'elu', got ${JSON.stringify(r.activation)}`);
  if (typeof r.layerNorm !== 'boolean') throw new Error(`brain module: spec.layerNorm must be a boolean, got ${JSON.stringify(r.layerNorm)}`);
  if (r.aggregation !== 'learned' && r.aggregation !== 'mean') throw new Error(`brain module: spec.aggregation must be 'learned' or 'mean', got ${JSON.stringify(r.aggregation)}`);
  if (r.head !== 'linear' && r.head !== 'mlp') throw new Error(`brain module: spec.head must be 'linear' or 'mlp', got ${JSON.stringify(r.head)}`);
  if (!(r.spatialDropout >= 0 && r.spatialDropout < 2)) throw new Error(`brain module: spec.spatialDropout must be in [0, 2), got ${r.spatialDropout}`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new Error(`brain module: spec.dropout must be in [0, 1), got ${r.dropout}`);
  if (!(r.inputClamp >= 0) || !Number.isFinite(r.inputClamp)) throw new Error(`brain module: spec.inputClamp must be a non-negative number, got ${r.inputClamp}`);
  if (!Number.isFinite(r.seed)) throw new Error(`brain module: spec.seed must be a number, got ${r.seed}`);
  return r;
}

/** Frequencies (k, l) of the position features: the half-plane grid |k|, |l| < K, k > 0 or (k = 0, l >= 0). */
function fourierFrequencies(K: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < K; k++) for (let l = k === 0 ? 0 : -(K - 1); l < K; l++) out.push([k, l]);
  return out;
}

/** Number of position features: cos and sin per frequency, without the all-zero sin of (0, 0). */
const featureCount = (K: number): number => 2 * fourierFrequencies(K).length - 1;

/**
 * Position features [Q, C] (row-major): positions scaled into [0, 1] by the layout's bounding box
 * (same scale on both axes), then cos / sin of 2*pi*(k*u + l*v)/(1 + 2*margin).
 */
export function positionFeatures(positions: readonly SensorPosition[], K: number): Float32Array {
  const C = positions.length;
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const p of positions) {
    xmin = Math.min(xmin, p.x);
    xmax = Math.max(xmax, p.x);
    ymin = Math.min(ymin, p.y);
    ymax = Math.max(ymax, p.y);
  }
  const span = Math.max(xmax - xmin, ymax - ymin) || 1;
  const freqs = fourierFrequencies(K);
  const Q = featureCount(K);
  const out = new Float32Array(Q * C);
  const w = (2 * Math.PI) / (1 + 2 * FOURIER_MARGIN);
  positions.forEach((p, c) => {
    const u = (p.x - xmin) / span + FOURIER_MARGIN;
    const v = (p.y - ymin) / span + FOURIER_MARGIN;
    let row = 0;
    freqs.forEach(([k, l], f) => {
      const phase = w * (k * u + l * v);
      out[row++ * C + c] = Math.cos(phase);
      if (f > 0) out[row++ * C + c] = Math.sin(phase);
    });
  });
  return out;
}

/** Layout positions scaled into [0, 1] as the attention sees them (for spatial dropout). */
export function normalisedPositions(positions: readonly SensorPosition[]): { u: Float64Array; v: Float64Array } {
  const xs = positions.map((p) => p.x);
  const ys = positions.map((p) => p.y);
  const xmin = Math.min(...xs);
  const ymin = Math.min(...ys);
  const span = Math.max(Math.max(...xs) - xmin, Math.max(...ys) - ymin) || 1;
  return { u: Float64Array.from(xs, (x) => (x - xmin) / span), v: Float64Array.from(ys, (y) => (y - ymin) / span) };
}

function dimensions(spec: ResolvedBrainModuleSpec, C: number, T: number, D: number, P: number, G: number): Dims {
  return { C, T, D, P, G, S: spec.spatialChannels, Q: featureCount(spec.fourierOrder), H: spec.hidden, F: spec.featureChannels, k: spec.kernelSize };
}

/** Weight names in order, for a spec (they depend on the number of blocks, layer norm, aggregation and head). */
export function brainModuleWeightNames(spec: ResolvedBrainModuleSpec): string[] {
  const names = ['spatialCoefficients', 'subjectMatrices'];
  spec.dilations.forEach((_, b) => {
    names.push(`block${b}Kernel`, `block${b}Bias`);
    if (spec.layerNorm) names.push(`block${b}NormGain`, `block${b}NormBias`);
  });
  names.push('featureKernel', 'featureBias');
  if (spec.aggregation === 'learned') names.push('timeWeights');
  if (spec.head === 'mlp') names.push('headKernel', 'headBias');
  names.push('projectionKernel', 'projectionBias');
  return names;
}

function weightShapes(spec: ResolvedBrainModuleSpec, n: Dims): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    spatialCoefficients: [n.G * n.S, n.Q],
    subjectMatrices: [n.P, n.S, n.S],
    featureKernel: [n.H, n.F],
    featureBias: [n.F],
    timeWeights: [n.T],
    headKernel: [n.F, n.F],
    headBias: [n.F],
    projectionKernel: [n.F, n.D],
    projectionBias: [n.D],
  };
  spec.dilations.forEach((_, b) => {
    shapes[`block${b}Kernel`] = [n.k * (b === 0 ? n.S : n.H), n.H];
    shapes[`block${b}Bias`] = [n.H];
    shapes[`block${b}NormGain`] = [n.H];
    shapes[`block${b}NormBias`] = [n.H];
  });
  return shapes;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Robust per-channel centre (median) and scale (interquartile range / 1.349, the standard
 * deviation for Gaussian data; the plain standard deviation when the IQR is 0, 1 when that is 0
 * too) of n time-major windows (T x C each), from at most `maxSamples` evenly strided time points
 * per channel.
 */
export function robustChannelScaling(X: Float32Array, n: number, T: number, C: number, maxSamples = 20000): { center: Float32Array; scale: Float32Array } {
  if (X.length !== n * T * C) throw new Error(`brain module: expected ${n * T * C} values (${n} x ${T} x ${C}), got ${X.length}`);
  const rows = n * T;
  const stride = Math.max(1, Math.floor(rows / maxSamples));
  const m = Math.ceil(rows / stride);
  const center = new Float32Array(C);
  const scale = new Float32Array(C).fill(1);
  if (rows === 0) return { center, scale };
  const buf = new Float64Array(m);
  const quantile = (sorted: Float64Array, q: number): number => {
    const pos = q * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  for (let c = 0; c < C; c++) {
    for (let i = 0, r = 0; r < rows; i++, r += stride) buf[i] = X[r * C + c];
    buf.sort();
    center[c] = quantile(buf, 0.5);
    let s = (quantile(buf, 0.75) - quantile(buf, 0.25)) / 1.349;
    if (!(s > 0)) {
      let mean = 0;
      for (const v of buf) mean += v;
      mean /= m;
      let ss = 0;
      for (const v of buf) ss += (v - mean) ** 2;
      s = Math.sqrt(ss / m);
    }
    scale[c] = s > 0 && Number.isFinite(s) ? s : 1;
  }
  return { center, scale };
}

export class BrainModuleModel {
  readonly spec: ResolvedBrainModuleSpec;
  readonly positions: readonly SensorPosition[];
  readonly sensorTypes: readonly number[];
  readonly timePoints: number;
  readonly embeddingDim: number;
  readonly subjectCount: number;
  /** Number of input channels C. */
  readonly channels: number;
  readonly weightNames: readonly string[];
  private readonly dims: Dims;
  private readonly center: Float32Array;
  private readonly invScale: Float32Array;
  private readonly weights: Record<string, tf.Variable>;
  /** Position features [Q, C]. */
  private readonly features: tf.Tensor2D;
  /** [G, 1, C] one-hot of the sensor types (null with one type). */
  private readonly typeMask: tf.Tensor3D | null;
  private disposed = false;

  private constructor(spec: ResolvedBrainModuleSpec, shape: Required<BrainModuleShape>, values: Record<string, Float32Array>) {
    this.spec = spec;
    this.positions = shape.positions.map((p) => ({ x: p.x, y: p.y }));
    this.sensorTypes = [...shape.sensorTypes];
    this.timePoints = shape.timePoints;
    this.embeddingDim = shape.embeddingDim;
    this.subjectCount = shape.subjectCount;
    this.channels = shape.positions.length;
    const G = this.sensorTypes.reduce((a, t) => Math.max(a, t + 1), 1);
    const n = (this.dims = dimensions(spec, this.channels, shape.timePoints, shape.embeddingDim, shape.subjectCount, G));
    this.center = Float32Array.from(shape.channelCenter);
    this.invScale = Float32Array.from(shape.channelScale, (s) => 1 / s);
    this.weightNames = brainModuleWeightNames(spec);
    const shapes = weightShapes(spec, n);
    this.weights = Object.fromEntries(
      this.weightNames.map((name) => {
        const initial = tf.tensor(values[name], shapes[name]);
        const v = tf.variable(initial, true);
        initial.dispose();
        return [name, v];
      }),
    );
    this.features = tf.tensor2d(positionFeatures(this.positions, spec.fourierOrder), [n.Q, n.C]);
    if (G > 1) {
      const m = new Float32Array(G * n.C);
      this.sensorTypes.forEach((t, c) => (m[t * n.C + c] = 1));
      this.typeMask = tf.tensor3d(m, [G, 1, n.C]);
    } else {
      this.typeMask = null;
    }
  }

  /**
   * A freshly initialised network: Glorot-uniform kernels and position coefficients from
   * `spec.seed`, identity subject matrices, zero biases, unit layer-norm gains, time weights 1/T.
   */
  static create(spec: BrainModuleSpec, shape: BrainModuleShape): BrainModuleModel {
    const s = resolveSpec(spec);
    const full = checkShape(shape);
    const G = full.sensorTypes.reduce((a, t) => Math.max(a, t + 1), 1);
    const n = dimensions(s, full.positions.length, full.timePoints, full.embeddingDim, full.subjectCount, G);
    const shapes = weightShapes(s, n);
    const rng = new Random(s.seed);
    const values: Record<string, Float32Array> = {};
    for (const name of brainModuleWeightNames(s)) {
      const sh = shapes[name];
      const v = new Float32Array(size(sh));
      if (name === 'subjectMatrices') {
        for (let p = 0; p < n.P; p++) for (let i = 0; i < n.S; i++) v[(p * n.S + i) * n.S + i] = 1;
      } else if (name === 'timeWeights') {
        v.fill(1 / n.T);
      } else if (name.endsWith('NormGain')) {
        v.fill(1);
      } else if (sh.length === 2) {
        const limit = Math.sqrt(6 / (sh[0] + sh[1]));
        for (let i = 0; i < v.length; i++) v[i] = (2 * rng.uniform() - 1) * limit;
      }
      values[name] = v;
    }
    return new BrainModuleModel(s, full, values);
  }

  /** Restores a model written by `toState`, checking every field (errors name the field). */
  static fromState(state: BrainModuleState): BrainModuleModel {
    const fail = (msg: string): never => {
      throw new Error(`brain module state: ${msg}`);
    };
    if (!state || typeof state !== 'object') fail('not an object');
    if (state.format !== 'neurorx-brain-module') fail(`format must be 'neurorx-brain-module', got ${JSON.stringify(state.format)}`);
    if (state.version !== 1) fail(`unsupported version ${JSON.stringify(state.version)}`);
    if (!state.spec || typeof state.spec !== 'object') fail('spec is missing');
    const spec = resolveSpec(state.spec);
    if (!Array.isArray(state.positions) || !state.positions.every((p) => p && typeof p === 'object' && Number.isFinite(p.x) && Number.isFinite(p.y))) {
      fail('positions must be an array of {x, y} finite numbers');
    }
    const C = state.positions.length;
    for (const field of ['sensorTypes', 'channelCenter', 'channelScale'] as const) {
      const a = state[field];
      if (!Array.isArray(a) || a.length !== C || !a.every((v) => typeof v === 'number' && Number.isFinite(v))) fail(`${field} must hold ${C} finite numbers`);
    }
    const full = checkShape({
      positions: state.positions,
      sensorTypes: state.sensorTypes,
      timePoints: state.timePoints,
      embeddingDim: state.embeddingDim,
      subjectCount: state.subjectCount,
      channelCenter: state.channelCenter,
      channelScale: state.channelScale,
    });
    const G = full.sensorTypes.reduce((a, t) => Math.max(a, t + 1), 1);
    const shapes = weightShapes(spec, dimensions(spec, C, full.timePoints, full.embeddingDim, full.subjectCount, G));
    if (!state.weights || typeof state.weights !== 'object') fail('weights are missing');
    const values: Record<string, Float32Array> = {};
    for (const name of brainModuleWeightNames(spec)) {
      const w = state.weights[name];
      const field = `weights.${name}`;
      if (!w || typeof w !== 'object') fail(`${field} is missing`);
      const expected = shapes[name];
      if (!Array.isArray(w.shape) || w.shape.length !== expected.length || w.shape.some((v, i) => v !== expected[i])) {
        fail(`${field} has shape ${JSON.stringify(w.shape)}, expected [${expected.join(', ')}]`);
      }
      if (!Array.isArray(w.values) || w.values.length !== size(expected)) fail(`${field} has ${Array.isArray(w.values) ? w.values.length : 'no'} values, expected ${size(expected)}`);
      if (!w.values.every((v) => typeof v === 'number' && Number.isFinite(v))) fail(`${field} holds a value that is not a finite number`);
      values[name] = Float32Array.from(w.values);
    }
    return new BrainModuleModel(spec, full, values);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.weightNames.reduce((a, name) => a + this.weights[name].size, 0);
  }

  /** Trainable variables in `weightNames` order. */
  variables(): tf.Variable[] {
    this.alive();
    return this.weightNames.map((n) => this.weights[n]);
  }

  /** The variable holding one weight. */
  variable(name: string): tf.Variable {
    this.alive();
    const v = this.weights[name];
    if (!v) throw new Error(`brain module: no weight '${name}'`);
    return v;
  }

  /** Names of the weights a decoupled weight decay should shrink (kernels and position coefficients; not biases, norms, time weights or subject matrices). */
  decayedWeightNames(): string[] {
    return this.weightNames.filter((n) => n === 'spatialCoefficients' || n.endsWith('Kernel'));
  }

  /**
   * Windows `indices` of X (n x T x C, time-major) as a batch: scaled and clamped input rows,
   * grouped by subject (`subjects[i]`, -1 = unknown; all unknown without `subjects`).
   */
  batch(X: Float32Array, indices: readonly number[], subjects?: ArrayLike<number>): BrainModuleBatch {
    this.alive();
    const { C, T, P } = this.dims;
    const per = T * C;
    const subjectOf = (i: number): number => {
      if (!subjects) return -1;
      const s = subjects[i];
      if (s === -1) return -1;
      if (!Number.isInteger(s) || s < 0 || s >= P) throw new Error(`brain module: subject of window ${i} is ${s}, expected -1 (unknown) or 0..${P - 1}`);
      return s;
    };
    // Stable grouping by subject.
    const keyed = indices.map((i, pos) => ({ i, pos, s: subjectOf(i) }));
    keyed.sort((a, b) => a.s - b.s || a.pos - b.pos);
    const order = keyed.map((k) => k.i);
    const groups: SubjectGroup[] = [];
    keyed.forEach((k, pos) => {
      const last = groups[groups.length - 1];
      if (last && last.subject === k.s) groups[groups.length - 1] = { ...last, count: last.count + 1 };
      else groups.push({ subject: k.s, start: pos, count: 1 });
    });
    const out = new Float32Array(order.length * per);
    const clamp = this.spec.inputClamp;
    const { center, invScale } = this;
    order.forEach((w, b) => {
      const base = w * per;
      if (w < 0 || !Number.isInteger(w) || base + per > X.length) throw new Error(`brain module: window ${w} is outside X (${Math.floor(X.length / per)} windows)`);
      const dst = b * per;
      for (let t = 0; t < T; t++) {
        const ro = t * C;
        for (let c = 0; c < C; c++) {
          let v = (X[base + ro + c] - center[c]) * invScale[c];
          if (clamp > 0) v = v > clamp ? clamp : v < -clamp ? -clamp : v;
          out[dst + ro + c] = v;
        }
      }
    });
    return { x: tf.tensor2d(out, [order.length * T, C]), groups, order };
  }

  /**
   * Spatial attention [S, C] (rows sum to 1); `sensorMask` [1, C] is added to the scores before
   * the softmax (0 = keep, -1e9 = drop).
   */
  attentionTensor(sensorMask?: tf.Tensor2D | null): tf.Tensor2D {
    this.alive();
    const { G, S, C } = this.dims;
    return tf.tidy(() => {
      let scores = mm(this.weights.spatialCoefficients as tf.Tensor2D, this.features, false); // [G*S, C]
      if (this.typeMask) scores = tf.sum<tf.Tensor2D>(tf.mul(tf.reshape(scores, [G, S, C]), this.typeMask), 0);
      if (sensorMask) scores = tf.add(scores, sensorMask);
      return tf.softmax(scores);
    });
  }

  /** The spatial attention matrix [S, C] row-major (inference: no sensor dropout). */
  attention(): Float32Array {
    const a = this.attentionTensor();
    const v = a.dataSync() as Float32Array;
    a.dispose();
    return Float32Array.from(v);
  }

  /**
   * Raw embeddings [n, D] of a batch (rows in `batch.order` order). Training passes the spatial
   * dropout's `sensorMask` ([1, C], additive) and the feature dropout's `featureMask` ([n, F],
   * inverted: 0 or 1 / (1 - rate)).
   */
  embed(batch: BrainModuleBatch, training?: { sensorMask?: tf.Tensor2D | null; featureMask?: tf.Tensor2D | null }): tf.Tensor2D {
    this.alive();
    const w = this.weights;
    const { T, S, H, F } = this.dims;
    const n = batch.order.length;
    const act = this.spec.activation === 'gelu' ? gelu : (x: tf.Tensor): tf.Tensor => tf.elu(x);
    return tf.tidy(() => {
      // (a) spatial attention: [n*T, C] @ A' -> [n*T, S].
      const A = this.attentionTensor(training?.sensorMask);
      let h = constTimes(batch.x, tf.transpose(A));
      // (b) subject layer, one row block per subject group.
      const subjectMatrix = (p: number): tf.Tensor2D => {
        if (this.dims.P === 1) return tf.reshape<tf.Rank.R2>(w.subjectMatrices, [S, S]);
        if (p < 0) return tf.mean<tf.Tensor2D>(w.subjectMatrices, 0);
        return tf.reshape<tf.Rank.R2>(tf.slice(w.subjectMatrices, [p, 0, 0], [1, S, S]), [S, S]);
      };
      if (batch.groups.length === 1) {
        h = mm(h, subjectMatrix(batch.groups[0].subject));
      } else {
        h = tf.concat(
          batch.groups.map((g) => mm(tf.slice(h, [g.start * T, 0], [g.count * T, S]), subjectMatrix(g.subject))),
          0,
        );
      }
      // (c) residual dilated temporal convolutions.
      this.spec.dilations.forEach((d, b) => {
        const width = b === 0 ? S : H;
        let y = tf.add<tf.Tensor2D>(dilatedConv(h, w[`block${b}Kernel`] as tf.Tensor2D, n, T, width, this.spec.kernelSize, d), w[`block${b}Bias`]);
        if (this.spec.layerNorm) y = layerNorm(y, w[`block${b}NormGain`], w[`block${b}NormBias`]);
        y = act(y) as tf.Tensor2D;
        h = width === H ? tf.add<tf.Tensor2D>(h, y) : y;
      });
      // (d) 1 x 1 layer, temporal aggregation, projection.
      const f = tf.reshape(act(tf.add(mm(h, w.featureKernel as tf.Tensor2D), w.featureBias)), [n, T, F]);
      let pooled = this.spec.aggregation === 'learned' ? tf.sum<tf.Tensor2D>(tf.mul(f, tf.reshape(w.timeWeights, [1, T, 1])), 1) : tf.mean<tf.Tensor2D>(f, 1);
      if (training?.featureMask) pooled = tf.mul(pooled, training.featureMask);
      if (this.spec.head === 'mlp') pooled = act(tf.add(mm(pooled, w.headKernel as tf.Tensor2D), w.headBias)) as tf.Tensor2D;
      return tf.add<tf.Tensor2D>(mm(pooled, w.projectionKernel as tf.Tensor2D), w.projectionBias);
    });
  }

  /**
   * Raw embeddings (n x D, row-major, in input order) of n windows X (n x T x C, time-major).
   * `subjects[i]` is window i's subject (0..P-1, or -1 = unknown: the mean subject matrix);
   * without `subjects` every window is unknown.
   */
  predict(X: Float32Array, n: number, subjects?: Int32Array | readonly number[]): Float32Array {
    this.alive();
    const { C, T, D } = this.dims;
    if (!Number.isInteger(n) || n < 0) throw new Error(`brain module: n must be a non-negative integer, got ${n}`);
    if (X.length !== n * T * C) throw new Error(`brain module: expected ${n * T * C} values (${n} x ${T} x ${C}), got ${X.length}`);
    if (subjects && subjects.length !== n) throw new Error(`brain module: ${subjects.length} subjects for ${n} windows`);
    const out = new Float32Array(n * D);
    const chunk = 256;
    for (let start = 0; start < n; start += chunk) {
      const idx = Array.from({ length: Math.min(chunk, n - start) }, (_, i) => start + i);
      const batch = this.batch(X, idx, subjects);
      const y = this.embed(batch);
      const v = y.dataSync();
      tf.dispose([y, batch.x]);
      batch.order.forEach((win, b) => out.set(v.subarray(b * D, (b + 1) * D), win * D));
    }
    return out;
  }

  /** Per-channel input centre and scale. */
  inputScaling(): { center: Float32Array; scale: Float32Array } {
    return { center: Float32Array.from(this.center), scale: Float32Array.from(this.invScale, (s) => 1 / s) };
  }

  /** Everything needed to rebuild the model, as plain JSON. */
  toState(): BrainModuleState {
    this.alive();
    const weights: Record<string, BrainModuleWeightState> = {};
    for (const name of this.weightNames) {
      const v = this.weights[name];
      weights[name] = { shape: [...v.shape], values: Array.from(v.dataSync()) };
    }
    const { center, scale } = this.inputScaling();
    return {
      format: 'neurorx-brain-module',
      version: 1,
      spec: { ...this.spec, dilations: [...this.spec.dilations] },
      positions: this.positions.map((p) => ({ x: p.x, y: p.y })),
      sensorTypes: [...this.sensorTypes],
      timePoints: this.timePoints,
      embeddingDim: this.embeddingDim,
      subjectCount: this.subjectCount,
      channelCenter: Array.from(center),
      channelScale: Array.from(scale),
      weights,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...Object.values(this.weights), this.features, ...(this.typeMask ? [this.typeMask] : [])]);
  }

  private alive(): void {
    if (this.disposed) throw new Error('brain module: the model has been disposed');
  }
}

function checkShape(shape: BrainModuleShape): Required<BrainModuleShape> {
  if (!shape || typeof shape !== 'object') throw new Error('brain module: shape is missing');
  const { positions, timePoints: T, embeddingDim: D } = shape;
  if (!Array.isArray(positions) || positions.length < 1) throw new Error('brain module: positions must be a non-empty array');
  const C = positions.length;
  positions.forEach((p: SensorPosition, c) => {
    if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new Error(`brain module: position ${c} is not a finite {x, y}`);
  });
  if (!Number.isInteger(T) || T < 1) throw new Error(`brain module: timePoints must be a positive integer, got ${T}`);
  if (!Number.isInteger(D) || D < 1) throw new Error(`brain module: embeddingDim must be a positive integer, got ${D}`);
  const P = shape.subjectCount ?? 1;
  if (!Number.isInteger(P) || P < 1) throw new Error(`brain module: subjectCount must be a positive integer, got ${P}`);
  const types = shape.sensorTypes ? Array.from(shape.sensorTypes) : new Array<number>(C).fill(0);
  if (types.length !== C) throw new Error(`brain module: sensorTypes has ${types.length} entries for ${C} sensors`);
  types.forEach((t, c) => {
    if (!Number.isInteger(t) || t < 0 || t >= MAX_SENSOR_TYPES) throw new Error(`brain module: sensorTypes[${c}] is ${t}, expected an integer in 0..${MAX_SENSOR_TYPES - 1}`);
  });
  const center = shape.channelCenter ? Array.from(shape.channelCenter) : new Array<number>(C).fill(0);
  const scale = shape.channelScale ? Array.from(shape.channelScale) : new Array<number>(C).fill(1);
  if (center.length !== C || !center.every(Number.isFinite)) throw new Error(`brain module: channelCenter must hold ${C} finite numbers`);
  if (scale.length !== C || !scale.every((s) => Number.isFinite(s) && s > 0)) throw new Error(`brain module: channelScale must hold ${C} positive finite numbers`);
  return { positions, sensorTypes: types, timePoints: T, embeddingDim: D, subjectCount: P, channelCenter: center, channelScale: scale };
}

/** a @ b with gradients to both (`bothGrads` false: to a only, for a constant b that outlives the backward pass). */
function mm(a: tf.Tensor2D, b: tf.Tensor2D, bothGrads = true): tf.Tensor2D {
  return bothGrads ? matMul2d(a, b) : timesConst(a, b);
}

/**
 * 'Same'-padded dilated temporal convolution of h ([n*T, width], rows (window, time)) with kernel
 * [k * width, H] (tap j in rows j*width...): the sum over taps of (the sequence shifted by
 * (j - (k-1)/2) * d, zero-padded) @ (tap j's rows). Separate products per tap avoid concatenating
 * the shifted copies (and splitting their gradient).
 */
export function dilatedConv(h: tf.Tensor2D, kernel: tf.Tensor2D, n: number, T: number, width: number, k: number, d: number): tf.Tensor2D {
  if (k === 1) return mm(h, kernel);
  const half = ((k - 1) / 2) * d;
  const padded = tf.pad(tf.reshape(h, [n, T, width]), [
    [0, 0],
    [half, half],
    [0, 0],
  ]);
  const H = kernel.shape[1];
  const taps: tf.Tensor2D[] = [];
  for (let j = 0; j < k; j++) {
    // A tap reaching entirely into the padding contributes nothing.
    if (Math.abs(j * d - half) >= T) continue;
    const shifted = j * d === half ? h : tf.reshape<tf.Rank.R2>(tf.slice(padded, [0, j * d, 0], [n, T, width]), [n * T, width]);
    taps.push(mm(shifted, tf.slice(kernel, [j * width, 0], [width, H])));
  }
  return taps.length === 1 ? taps[0] : tf.addN(taps);
}

function layerNorm(x: tf.Tensor2D, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 1, true);
  return tf.add<tf.Tensor2D>(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPSILON))), gain), bias);
}

/** GELU, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}
