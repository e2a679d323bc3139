/**
 * A compact HiSTN-like (hierarchical spatial-temporal) network for emotion decoding from
 * sequences of band-feature windows, in TensorFlow.js with plain tf.Variables.
 *
 * Input: X [N, T, C, F] (row-major): T consecutive feature windows, C electrodes, F band features
 * (e.g. differential entropy in 5 bands), z-scored per subject. Output: K ordered class
 * probabilities. For every window t independently:
 *
 *  (a) electrodes: shared embedding H0 = elu(X W_e + b_e) (F -> d), then one graph convolution
 *      over the electrode graph with a residual connection, H1 = H0 + elu(Â H0 W_g + b_g);
 *  (b) electrodes -> regions: attention pooling, each region a softmax-weighted mean of its
 *      electrodes (one learned logit per electrode), then a shared region transform elu(. W_r + b_r);
 *  (c) regions -> hemispheres (left, midline, right) the same way (one logit per region, shared
 *      transform W_h), plus the parameter-free left - right difference (frontal asymmetry);
 *
 * then over time: (d) a temporal convolution of width k (default 3, 'valid') over the T vectors
 * of [hemispheres..., left - right] features (G * d values each), written as one matMul of the
 * concatenated time-shifted slices, elu, mean over time; (e) dense to K logits, softmax.
 *
 * Every product is a 2-D matMul whose operands are reshapes of contiguous data: activations are
 * laid out electrode-major ([C, N*T, d], later [R, ...], [G, ...]), so the dense transforms act on
 * the last axis and the graph/pooling matrices on the first without transposes (one transpose
 * before the temporal stage). No convolution kernels: trains on the wasm and cpu backends.
 *
 * Size for C = 14 (DREAMER, 3 + 3 regions, no midline), F = 5, K = 5, d = 8, 8 temporal filters,
 * width 3: 913 parameters (see `parameterCount`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { constTimes, matMul2d } from '../tfjs/mat-mul.js';
import { Random } from '../../util/random.js';
import { buildElectrodeHierarchy, type ElectrodeHierarchy, type Side } from './electrode-hierarchy.js';

export interface HistnSpec {
  /** Per-electrode embedding size d (default 8). */
  readonly embedding?: number;
  /** Output channels of the temporal convolution (default 8). */
  readonly temporalFilters?: number;
  /** Width of the temporal convolution in windows (default 3; at most T). */
  readonly kernelSize?: number;
  /** Dropout rate on the temporal convolution's input during training (default 0). */
  readonly dropout?: number;
  /** Number of regions (default, or null: see HierarchyOptions.regions). */
  readonly regions?: number | null;
  /** Graph neighbours per electrode (default 4). */
  readonly neighbours?: number;
  /** Seed of the weight initialisation (default 1). */
  readonly seed?: number;
}

export interface ResolvedHistnSpec {
  readonly embedding: number;
  readonly temporalFilters: number;
  readonly kernelSize: number;
  readonly dropout: number;
  readonly regions: number | null;
  readonly neighbours: number;
  readonly seed: number;
}

export const HISTN_WEIGHT_NAMES = [
  'embedKernel',
  'embedBias',
  'graphKernel',
  'graphBias',
  'electrodeAttention',
  'regionKernel',
  'regionBias',
  'regionAttention',
  'hemisphereKernel',
  'hemisphereBias',
  'temporalKernel',
  'temporalBias',
  'outputKernel',
  'outputBias',
] as const;
export type HistnWeightName = (typeof HISTN_WEIGHT_NAMES)[number];

export interface HistnWeightState {
  readonly shape: number[];
  readonly values: number[];
}

/** What `toState` writes and `fromState` reads: plain JSON. */
export interface HistnState {
  readonly format: 'neurorx-histn';
  readonly version: 1;
  readonly spec: ResolvedHistnSpec;
  readonly channels: string[];
  readonly featureCount: number;
  readonly sequenceLength: number;
  readonly classes: string[];
  readonly hierarchy: ElectrodeHierarchy;
  readonly weights: Record<HistnWeightName, HistnWeightState>;
}

/** Sizes of the network, derived from spec, data shape and hierarchy. */
interface Dims {
  readonly C: number;
  readonly F: number;
  readonly T: number;
  readonly K: number;
  readonly d: number;
  readonly m: number;
  /** Effective temporal width min(kernelSize, T). */
  readonly k: number;
  readonly R: number;
  readonly H: number;
  /** Hemisphere indices of the left-right difference, or null when a side is missing. */
  readonly leftRight: readonly [number, number] | null;
  /** Feature groups per window into the temporal stage: H (+1 with the difference). */
  readonly G: number;
}

function resolveSpec(spec: HistnSpec): ResolvedHistnSpec {
  const r: ResolvedHistnSpec = {
    embedding: spec.embedding ?? 8,
    temporalFilters: spec.temporalFilters ?? 8,
    kernelSize: spec.kernelSize ?? 3,
    dropout: spec.dropout ?? 0,
    regions: spec.regions ?? null,
    neighbours: spec.neighbours ?? 4,
    seed: spec.seed ?? 1,
  };
  for (const key of ['embedding', 'temporalFilters', 'kernelSize', 'neighbours'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 1) throw new Error(`histn: spec.${key} must be a positive integer, got ${r[key]}`);
  }
  if (r.regions !== null && (!Number.isInteger(r.regions) || r.regions < 1)) throw new Error(`histn: spec.regions must be a positive integer, got ${r.regions}`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new Error(`histn: spec.dropout must be in [0, 1), got ${r.dropout}`);
  if (!Number.isFinite(r.seed)) throw new Error(`histn: spec.seed must be a number, got ${r.seed}`);
  return r;
}

function dimensions(spec: ResolvedHistnSpec, h: ElectrodeHierarchy, F: number, T: number, K: number): Dims {
  const names = h.hemispheres.map((x) => x.name);
  const left = names.indexOf('left');
  const right = names.indexOf('right');
  const leftRight: [number, number] | null = left >= 0 && right >= 0 ? [left, right] : null;
  const H = h.hemispheres.length;
  return {
    C: h.channels.length,
    F,
    T,
    K,
    d: spec.embedding,
    m: spec.temporalFilters,
    k: Math.min(spec.kernelSize, T),
    R: h.regions.length,
    H,
    leftRight,
    G: H + (leftRight ? 1 : 0),
  };
}

function weightShapes(n: Dims): Record<HistnWeightName, number[]> {
  return {
    embedKernel: [n.F, n.d],
    embedBias: [n.d],
    graphKernel: [n.d, n.d],
    graphBias: [n.d],
    electrodeAttention: [n.C],
    regionKernel: [n.d, n.d],
    regionBias: [n.d],
    regionAttention: [n.R],
    hemisphereKernel: [n.d, n.d],
    hemisphereBias: [n.d],
    temporalKernel: [n.k * n.G * n.d, n.m],
    temporalBias: [n.m],
    outputKernel: [n.m, n.K],
    outputBias: [n.K],
  };
}

/** Weights penalised by L2 (the dense kernels; not biases or attention logits). */
export const HISTN_KERNEL_NAMES: readonly HistnWeightName[] = ['embedKernel', 'graphKernel', 'regionKernel', 'hemisphereKernel', 'temporalKernel', 'outputKernel'];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export class HistnModel {
  readonly spec: ResolvedHistnSpec;
  readonly channels: readonly string[];
  readonly featureCount: number;
  readonly sequenceLength: number;
  readonly classes: readonly string[];
  readonly hierarchy: ElectrodeHierarchy;
  private readonly dims: Dims;
  private readonly weights: Record<HistnWeightName, tf.Variable>;
  /** Â [C, C]. */
  private readonly adjacency: tf.Tensor2D;
  /** [R, C] and [H, R]: 0 where the column belongs to the row's group, -1e9 elsewhere (masked softmax). */
  private readonly electrodeMask: tf.Tensor2D;
  private readonly regionMask: tf.Tensor2D;
  private disposed = false;

  private constructor(
    spec: ResolvedHistnSpec,
    channels: readonly string[],
    featureCount: number,
    sequenceLength: number,
    classes: readonly string[],
    hierarchy: ElectrodeHierarchy,
    values: Record<HistnWeightName, Float32Array>,
  ) {
    this.spec = spec;
    this.channels = [...channels];
    this.featureCount = featureCount;
    this.sequenceLength = sequenceLength;
    this.classes = [...classes];
    this.hierarchy = hierarchy;
    const n = (this.dims = dimensions(spec, hierarchy, featureCount, sequenceLength, classes.length));
    const shapes = weightShapes(n);
    this.weights = Object.fromEntries(
      HISTN_WEIGHT_NAMES.map((name) => {
        const initial = tf.tensor(values[name], shapes[name]);
        const v = tf.variable(initial, true);
        initial.dispose();
        return [name, v];
      }),
    ) as Record<HistnWeightName, tf.Variable>;
    this.adjacency = tf.tensor2d(hierarchy.adjacency.flat(), [n.C, n.C]);
    const em = new Float32Array(n.R * n.C).fill(-1e9);
    hierarchy.electrodeToRegion.forEach((row, c) => row.forEach((v, r) => v === 1 && (em[r * n.C + c] = 0)));
    this.electrodeMask = tf.tensor2d(em, [n.R, n.C]);
    const rm = new Float32Array(n.H * n.R).fill(-1e9);
    hierarchy.regionToHemisphere.forEach((row, r) => row.forEach((v, h) => v === 1 && (rm[h * n.R + r] = 0)));
    this.regionMask = tf.tensor2d(rm, [n.H, n.R]);
  }

  /** A freshly initialised network (Glorot-uniform kernels from `spec.seed`, zero biases and attention logits). */
  static create(spec: HistnSpec, channels: readonly string[], featureCount: number, sequenceLength: number, classes: readonly string[]): HistnModel {
    const s = resolveSpec(spec);
    checkShape(channels, featureCount, sequenceLength, classes);
    const hierarchy = buildElectrodeHierarchy(channels, { regions: s.regions ?? undefined, neighbours: s.neighbours });
    const shapes = weightShapes(dimensions(s, hierarchy, featureCount, sequenceLength, classes.length));
    const rng = new Random(s.seed);
    const values = {} as Record<HistnWeightName, Float32Array>;
    for (const name of HISTN_WEIGHT_NAMES) {
      const shape = shapes[name];
      const v = new Float32Array(size(shape));
      if (shape.length === 2) {
        const limit = Math.sqrt(6 / (shape[0] + shape[1]));
        for (let i = 0; i < v.length; i++) v[i] = (2 * rng.uniform() - 1) * limit;
      }
      values[name] = v;
    }
    return new HistnModel(s, channels, featureCount, sequenceLength, classes, hierarchy, values);
  }

  /** Restores a model written by `toState`, checking every field (errors name the field). */
  static fromState(state: HistnState): HistnModel {
    if (!state || typeof state !== 'object') throw new Error('histn state: not an object');
    if (state.format !== 'neurorx-histn') throw new Error(`histn state: format must be 'neurorx-histn', got ${JSON.stringify(state.format)}`);
    if (state.version !== 1) throw new Error(`histn state: unsupported version ${JSON.stringify(state.version)}`);
    if (!state.spec || typeof state.spec !== 'object') throw new Error('histn state: spec is missing');
    const spec = resolveSpec(state.spec);
    if (!Array.isArray(state.channels) || !state.channels.every((c) => typeof c === 'string')) throw new Error('histn state: channels must be an array of strings');
    if (!Array.isArray(state.classes) || !state.classes.every((c) => typeof c === 'string')) throw new Error('histn state: classes must be an array of strings');
    checkShape(state.channels, state.featureCount, state.sequenceLength, state.classes);
    const hierarchy = checkHierarchy(state.hierarchy, state.channels);
    const shapes = weightShapes(dimensions(spec, hierarchy, state.featureCount, state.sequenceLength, state.classes.length));
    if (!state.weights || typeof state.weights !== 'object') throw new Error('histn state: weights are missing');
    const values = {} as Record<HistnWeightName, Float32Array>;
    for (const name of HISTN_WEIGHT_NAMES) {
      const w = state.weights[name];
      const field = `weights.${name}`;
      if (!w || typeof w !== 'object') throw new Error(`histn state: ${field} is missing`);
      const expected = shapes[name];
      if (!Array.isArray(w.shape) || w.shape.length !== expected.length || w.shape.some((v, i) => v !== expected[i])) {
        throw new Error(`histn state: ${field} has shape ${JSON.stringify(w.shape)}, expected [${expected.join(', ')}]`);
      }
      if (!Array.isArray(w.values) || w.values.length !== size(expected))
        throw new Error(`histn state: ${field} has ${Array.isArray(w.values) ? w.values.length : 'no'} values, expected ${size(expected)}`);
      if (!w.values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error(`histn state: ${field} holds a value that is not a finite number`);
      values[name] = Float32Array.from(w.values);
    }
    return new HistnModel(spec, state.channels, state.featureCount, state.sequenceLength, state.classes, hierarchy, values);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return HISTN_WEIGHT_NAMES.reduce((a, name) => a + this.weights[name].size, 0);
  }

  /** Trainable variables in HISTN_WEIGHT_NAMES order. */
  variables(): tf.Variable[] {
    this.alive();
    return HISTN_WEIGHT_NAMES.map((n) => this.weights[n]);
  }

  /** The variable holding one weight. */
  variable(name: HistnWeightName): tf.Variable {
    this.alive();
    return this.weights[name];
  }

  /** Shape of the dropout mask `logits` takes for n sequences: [n, T, G * d]. */
  dropoutShape(n: number): [number, number, number] {
    return [n, this.dims.T, this.dims.G * this.dims.d];
  }

  /**
   * Sequences `indices` of X ([N, T, C, F] row-major) in the electrode-major layout `logits`
   * reads: [C * n * T, F], row (c * n + i) * T + t.
   */
  inputTensor(X: Float32Array, indices: readonly number[]): tf.Tensor2D {
    this.alive();
    const { C, F, T } = this.dims;
    const n = indices.length;
    const per = T * C * F;
    const out = new Float32Array(C * n * T * F);
    for (let i = 0; i < n; i++) {
      const base = indices[i] * per;
      if (indices[i] < 0 || base + per > X.length) throw new Error(`histn: sequence ${indices[i]} is outside X (${Math.floor(X.length / per)} sequences)`);
      for (let t = 0; t < T; t++) {
        for (let c = 0; c < C; c++) {
          const src = base + (t * C + c) * F;
          out.set(X.subarray(src, src + F), ((c * n + i) * T + t) * F);
        }
      }
    }
    return tf.tensor2d(out, [C * n * T, F]);
  }

  /** Logits [n, K] of n sequences given by `inputTensor`; `dropoutMask` ([n, T, G*d], inverted) for training. */
  logits(x: tf.Tensor2D, n: number, dropoutMask?: tf.Tensor3D | null): tf.Tensor2D {
    this.alive();
    const w = this.weights;
    const { C, T, d, m, k, R, H, G, leftRight } = this.dims;
    const NT = n * T;
    return tf.tidy(() => {
      // (a) embedding and graph convolution, [C * NT, d].
      const h0 = tf.elu(tf.add(constTimes(x, w.embedKernel as tf.Tensor2D), w.embedBias));
      // Â is symmetric: it is its own transpose in the gradient.
      const mixed = tf.reshape(constTimes(this.adjacency, tf.reshape<tf.Rank.R2>(h0, [C, NT * d]), this.adjacency), [C * NT, d]);
      const h1 = tf.add(h0, tf.elu(tf.add(matMul2d(mixed as tf.Tensor2D, w.graphKernel as tf.Tensor2D), w.graphBias)));
      // (b) electrodes -> regions, [R * NT, d].
      const P = tf.softmax(tf.add(tf.reshape(w.electrodeAttention, [1, C]), this.electrodeMask)) as tf.Tensor2D;
      const r0 = tf.reshape(matMul2d(P, tf.reshape<tf.Rank.R2>(h1, [C, NT * d])), [R * NT, d]);
      const h2 = tf.elu(tf.add(matMul2d(r0 as tf.Tensor2D, w.regionKernel as tf.Tensor2D), w.regionBias));
      // (c) regions -> hemispheres, [H, NT * d], and left - right.
      const Q = tf.softmax(tf.add(tf.reshape(w.regionAttention, [1, R]), this.regionMask)) as tf.Tensor2D;
      const u0 = tf.reshape(matMul2d(Q, tf.reshape<tf.Rank.R2>(h2, [R, NT * d])), [H * NT, d]);
      let z = tf.reshape(tf.elu(tf.add(matMul2d(u0 as tf.Tensor2D, w.hemisphereKernel as tf.Tensor2D), w.hemisphereBias)), [H, NT * d]);
      if (leftRight) {
        const diff = tf.sub(tf.slice(z, [leftRight[0], 0], [1, NT * d]), tf.slice(z, [leftRight[1], 0], [1, NT * d]));
        z = tf.concat([z, diff], 0);
      }
      // (d) temporal convolution over each sequence's T vectors of G * d features: the sum over
      // taps tau of (window slice t + tau) @ (rows tau * G*d ... of the kernel), 'valid'.
      let seq = tf.reshape<tf.Rank.R3>(tf.transpose(tf.reshape(z, [G, n, T, d]), [1, 2, 0, 3]), [n, T, G * d]);
      if (dropoutMask) seq = tf.mul(seq, dropoutMask);
      const Tp = T - k + 1;
      const Gd = G * d;
      const taps = Array.from({ length: k }, (_, tau) => {
        const slice = Tp === T ? seq : tf.slice(seq, [0, tau, 0], [n, Tp, Gd]);
        const kernel = k === 1 ? w.temporalKernel : tf.slice(w.temporalKernel, [tau * Gd, 0], [Gd, m]);
        return matMul2d(tf.reshape<tf.Rank.R2>(slice, [n * Tp, Gd]), kernel as tf.Tensor2D);
      });
      const conv = tf.elu(tf.add(taps.length === 1 ? taps[0] : tf.addN(taps), w.temporalBias));
      const pooled = tf.mean<tf.Tensor2D>(tf.reshape(conv, [n, Tp, m]), 1);
      // (e) dense to K logits.
      return tf.add<tf.Tensor2D>(matMul2d(pooled, w.outputKernel as tf.Tensor2D), w.outputBias);
    });
  }

  /** Class probabilities of n sequences X [n, T, C, F] (row-major), n x K row-major. */
  predict(X: Float32Array, n: number): Float32Array {
    this.alive();
    const { C, F, T, K } = this.dims;
    if (!Number.isInteger(n) || n < 0) throw new Error(`histn: n must be a non-negative integer, got ${n}`);
    if (X.length !== n * T * C * F) throw new Error(`histn: expected ${n * T * C * F} values (${n} x ${T} x ${C} x ${F}), got ${X.length}`);
    const out = new Float32Array(n * K);
    const chunk = 512;
    for (let start = 0; start < n; start += chunk) {
      const idx = Array.from({ length: Math.min(chunk, n - start) }, (_, i) => start + i);
      const probs = tf.tidy(() => tf.softmax(this.logits(this.inputTensor(X, idx), idx.length)));
      out.set(probs.dataSync(), start * K);
      probs.dispose();
    }
    return out;
  }

  /** Everything needed to rebuild the model, as plain JSON. */
  toState(): HistnState {
    this.alive();
    const weights = Object.fromEntries(
      HISTN_WEIGHT_NAMES.map((name) => {
        const v = this.weights[name];
        return [name, { shape: [...v.shape], values: Array.from(v.dataSync()) }];
      }),
    ) as Record<HistnWeightName, HistnWeightState>;
    return {
      format: 'neurorx-histn',
      version: 1,
      spec: { ...this.spec },
      channels: [...this.channels],
      featureCount: this.featureCount,
      sequenceLength: this.sequenceLength,
      classes: [...this.classes],
      hierarchy: JSON.parse(JSON.stringify(this.hierarchy)) as ElectrodeHierarchy,
      weights,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...Object.values(this.weights), this.adjacency, this.electrodeMask, this.regionMask]);
  }

  private alive(): void {
    if (this.disposed) throw new Error('histn: the model has been disposed');
  }
}

function checkShape(channels: readonly string[], F: number, T: number, classes: readonly string[]): void {
  if (channels.length < 2) throw new Error(`histn: need at least 2 channels, got ${channels.length}`);
  const seen = new Set<string>();
  for (const c of channels) {
    if (seen.has(c)) throw new Error(`histn: channel '${c}' appears twice`);
    seen.add(c);
  }
  if (!Number.isInteger(F) || F < 1) throw new Error(`histn: featureCount must be a positive integer, got ${F}`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`histn: sequenceLength must be a positive integer, got ${T}`);
  if (classes.length < 2) throw new Error(`histn: need at least 2 classes, got ${classes.length}`);
}

function isMatrix(v: unknown, rows: number, cols: number | null): v is number[][] {
  return Array.isArray(v) && v.length === rows && v.every((r) => Array.isArray(r) && (cols === null || r.length === cols) && r.every((x) => typeof x === 'number' && Number.isFinite(x)));
}

/** Validates a stored hierarchy against the channels. */
function checkHierarchy(h: ElectrodeHierarchy, channels: readonly string[]): ElectrodeHierarchy {
  const C = channels.length;
  const fail = (field: string, what: string): never => {
    throw new Error(`histn state: hierarchy.${field} ${what}`);
  };
  if (!h || typeof h !== 'object') throw new Error('histn state: hierarchy is missing');
  if (!Array.isArray(h.channels) || h.channels.length !== C || h.channels.some((c, i) => c !== channels[i])) fail('channels', 'does not match channels');
  if (!isMatrix(h.adjacency, C, C)) fail('adjacency', `must be a ${C} x ${C} matrix of finite numbers`);
  if (!Array.isArray(h.regions) || h.regions.length < 1) fail('regions', 'must be a non-empty array');
  const R = h.regions.length;
  if (!Array.isArray(h.hemispheres) || h.hemispheres.length < 1 || h.hemispheres.length > 3) fail('hemispheres', 'must hold 1 to 3 hemispheres');
  const names = h.hemispheres.map((x) => x?.name);
  if (names.some((n) => !(['left', 'midline', 'right'] as Side[]).includes(n)) || new Set(names).size !== names.length) fail('hemispheres', 'must be named left, midline or right, each at most once');
  const H = h.hemispheres.length;
  if (!isMatrix(h.electrodeToRegion, C, R) || h.electrodeToRegion.some((row) => row.filter((v) => v === 1).length !== 1 || row.some((v) => v !== 0 && v !== 1))) {
    fail('electrodeToRegion', `must be a ${C} x ${R} 0/1 matrix with one 1 per row`);
  }
  if (!isMatrix(h.regionToHemisphere, R, H) || h.regionToHemisphere.some((row) => row.filter((v) => v === 1).length !== 1 || row.some((v) => v !== 0 && v !== 1))) {
    fail('regionToHemisphere', `must be a ${R} x ${H} 0/1 matrix with one 1 per row`);
  }
  for (let r = 0; r < R; r++) if (!h.electrodeToRegion.some((row) => row[r] === 1)) fail('electrodeToRegion', `leaves region ${r} empty`);
  for (let k = 0; k < H; k++) if (!h.regionToHemisphere.some((row) => row[k] === 1)) fail('regionToHemisphere', `leaves hemisphere ${k} empty`);
  return h;
}
