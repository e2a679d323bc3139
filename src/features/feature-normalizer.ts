import type { OperatorFunction } from 'rxjs';
import { statefulOperator } from '../stream/stateful-operator.js';
import type { FeatureFrame } from './band-features.js';

/**
 * Per-subject normalisation of feature vectors: features such as log band power differ between
 * people (skull, electrode contact) far more than between emotional states, so each feature is
 * z-scored with statistics of the same subject.
 *
 * Statistics:
 * - baseline phase: mean and variance by Welford's algorithm in float64, population variance
 *   (divided by the number of frames, ddof 0), so z-scoring the baseline frames themselves gives
 *   exactly mean 0 and standard deviation 1 (up to rounding);
 * - the phase ends with `freeze()`, or by itself after `baselineFrames` observations;
 * - afterwards, in 'baseline' mode the statistics stay fixed (`observe` is a no-op); in 'running'
 *   mode every observation updates them with exponential forgetting: with α = 1 − 2^(−1/halfLife),
 *       d = x − mean;  mean += α·d;  var = (1 − α)·(var + α·d²)
 *   so after a step change of the input the mean has covered half the step after `halfLife`
 *   observations (and 1 − 2^(−k/halfLife) of it after k).
 *
 * A feature whose variance is zero (constant over the baseline) is divided by 1 instead of by its
 * standard deviation: it is only centred, and never becomes NaN or infinite.
 */

export type NormalizationMode = 'baseline' | 'running';

export interface FeatureNormalizerOptions {
  /** Freeze the baseline by itself after this many `observe` calls (default: only on `freeze()`). */
  baselineFrames?: number;
  /** 'baseline' (default): fixed statistics after the baseline; 'running': keep adapting. */
  mode?: NormalizationMode;
  /** Running mode: half-life of the exponential forgetting, in frames (default 120). */
  halfLife?: number;
}

function checkPositiveInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer (got ${String(value)})`);
}

function checkMode(mode: unknown): NormalizationMode {
  if (mode !== 'baseline' && mode !== 'running') throw new Error(`mode must be 'baseline' or 'running' (got ${String(mode)})`);
  return mode;
}

function checkHalfLife(halfLife: unknown): number {
  if (typeof halfLife !== 'number' || !Number.isFinite(halfLife) || halfLife <= 0) {
    throw new Error(`halfLife must be a positive number of frames (got ${String(halfLife)})`);
  }
  return halfLife;
}

export class FeatureNormalizer {
  readonly size: number;
  readonly mode: NormalizationMode;
  readonly halfLife: number;
  /** Running-mode forgetting factor α = 1 − 2^(−1/halfLife). */
  readonly forgetting: number;
  private readonly baselineFrames: number | undefined;
  private readonly mu: Float64Array;
  /** Baseline: sum of squared deviations (Welford's M2); after freeze: the variance. */
  private readonly m2: Float64Array;
  private n = 0;
  private isFrozen = false;

  /** @param size features per vector. */
  constructor(size: number, opts: FeatureNormalizerOptions = {}) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`size must be a non-negative integer (got ${String(size)})`);
    if (opts.baselineFrames !== undefined) checkPositiveInteger(opts.baselineFrames, 'baselineFrames');
    this.size = size;
    this.mode = checkMode(opts.mode ?? 'baseline');
    this.halfLife = checkHalfLife(opts.halfLife ?? 120);
    this.forgetting = 1 - 2 ** (-1 / this.halfLife);
    this.baselineFrames = opts.baselineFrames;
    this.mu = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }

  /** Whether the baseline phase is over. */
  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Vectors observed during the baseline phase. */
  get baselineCount(): number {
    return this.n;
  }

  /** Current per-feature mean (a copy). */
  mean(): Float64Array {
    return this.mu.slice();
  }

  /** Current per-feature variance, ddof 0 (a copy). */
  variance(): Float64Array {
    if (this.isFrozen) return this.m2.slice();
    return this.m2.map((m) => (this.n > 0 ? m / this.n : 0));
  }

  /**
   * Adds one feature vector to the statistics: to the baseline while it lasts (freezing it after
   * `baselineFrames`), then to the running statistics in 'running' mode; ignored afterwards in
   * 'baseline' mode. Throws on a non-finite value (it would poison the statistics for good).
   */
  observe(x: ArrayLike<number>): void {
    this.checkLength(x, 'observe');
    for (let i = 0; i < this.size; i++) {
      if (!Number.isFinite(x[i])) throw new Error(`FeatureNormalizer.observe: feature ${i} is ${x[i]}`);
    }
    if (!this.isFrozen) {
      const n = ++this.n;
      for (let i = 0; i < this.size; i++) {
        const d = x[i] - this.mu[i];
        this.mu[i] += d / n;
        this.m2[i] += d * (x[i] - this.mu[i]);
      }
      if (this.baselineFrames !== undefined && n >= this.baselineFrames) this.freeze();
      return;
    }
    if (this.mode !== 'running') return;
    const a = this.forgetting;
    for (let i = 0; i < this.size; i++) {
      const d = x[i] - this.mu[i];
      this.mu[i] += a * d;
      this.m2[i] = (1 - a) * (this.m2[i] + a * d * d);
    }
  }

  /** Ends the baseline phase; throws when nothing was observed. Freezing twice is a no-op. */
  freeze(): void {
    if (this.isFrozen) return;
    if (this.n === 0) throw new Error('FeatureNormalizer.freeze: no baseline frame observed yet');
    for (let i = 0; i < this.size; i++) this.m2[i] /= this.n;
    this.isFrozen = true;
  }

  /**
   * Writes `(x − mean) / std` to `out` (allocated when not given) and returns it; a zero-variance
   * feature is divided by 1. Before `freeze()` the statistics observed so far are used; with none
   * at all it throws.
   */
  apply(x: ArrayLike<number>, out?: Float32Array): Float32Array {
    this.checkLength(x, 'apply');
    if (this.n === 0) throw new Error('FeatureNormalizer.apply: no baseline frame observed yet');
    const o = out ?? new Float32Array(this.size);
    if (o.length < this.size) throw new Error(`FeatureNormalizer.apply: out has ${o.length} values, needs ${this.size}`);
    const scale = this.isFrozen ? 1 : 1 / this.n;
    for (let i = 0; i < this.size; i++) {
      const v = this.m2[i] * scale;
      o[i] = v > 0 ? (x[i] - this.mu[i]) / Math.sqrt(v) : x[i] - this.mu[i];
    }
    return o;
  }

  private checkLength(x: ArrayLike<number>, what: string): void {
    if (x.length !== this.size) throw new Error(`FeatureNormalizer.${what}: got ${x.length} features, expected ${this.size}`);
  }
}

/**
 * Z-scores every vector of `apply` with the per-feature mean and standard deviation (ddof 0) of
 * `statsFrom` (e.g. a subject's resting baseline or calibration frames), for offline evaluation.
 * Returns new arrays; zero-variance features are only centred.
 */
export function zscoreWith(statsFrom: readonly Float32Array[], apply: readonly Float32Array[]): Float32Array[] {
  if (statsFrom.length === 0) throw new Error('zscoreWith: statsFrom is empty, no statistics to normalise with');
  const norm = new FeatureNormalizer(statsFrom[0].length);
  for (const x of statsFrom) norm.observe(x);
  norm.freeze();
  return apply.map((x) => norm.apply(x));
}

function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

export interface NormalizeFeaturesOptions {
  /**
   * Calibration baseline, seconds: the frames whose windows lie wholly within the first
   * `baselineSeconds` of the stream (endTime at most the first window's startTime plus
   * `baselineSeconds`) form the baseline and are not emitted.
   */
  baselineSeconds: number;
  /** See FeatureNormalizerOptions.mode (default 'baseline'). */
  mode?: NormalizationMode;
  /** Running mode: half-life in frames (default 120). */
  halfLife?: number;
}

/**
 * Per-subject normalisation of a FeatureFrame stream. The frames whose windows lie wholly within
 * the first `baselineSeconds` of the stream are calibration: they feed the statistics and are not
 * emitted. Frames with a non-finite feature are dropped. Every later frame is emitted with logPower, de and asymmetry z-scored, each feature
 * with its own statistics (three FeatureNormalizers). In 'running' mode a frame is normalised with
 * the statistics from before it and then added to them, so no frame normalises itself.
 * Frames are new objects with new arrays; the layout fields are shared with the input.
 * A change of layout (channels, bands, pairs) is a stream error.
 */
export function normalizeFeatures(opts: NormalizeFeaturesOptions): OperatorFunction<FeatureFrame, FeatureFrame> {
  const { baselineSeconds } = opts;
  if (typeof baselineSeconds !== 'number' || !Number.isFinite(baselineSeconds) || baselineSeconds <= 0) {
    throw new Error(`baselineSeconds must be a positive number of seconds (got ${String(baselineSeconds)})`);
  }
  const normalizerOptions: FeatureNormalizerOptions = { mode: checkMode(opts.mode ?? 'baseline'), halfLife: checkHalfLife(opts.halfLife ?? 120) };
  return statefulOperator(() => {
    let first: FeatureFrame | undefined;
    let power: FeatureNormalizer;
    let de: FeatureNormalizer;
    let asym: FeatureNormalizer;
    return (frame: FeatureFrame, emit: (f: FeatureFrame) => void) => {
      if (!first) {
        first = frame;
        power = new FeatureNormalizer(frame.logPower.length, normalizerOptions);
        de = new FeatureNormalizer(frame.de.length, normalizerOptions);
        asym = new FeatureNormalizer(frame.asymmetry.length, normalizerOptions);
      } else if (frame.logPower.length !== power.size || frame.de.length !== de.size || frame.asymmetry.length !== asym.size) {
        throw new Error(
          `normalizeFeatures: frame layout changed from ${first.channels.length} channels x ${first.bands.length} bands + ${asym.size} pairs ` +
            `to ${frame.channels.length} channels x ${frame.bands.length} bands + ${frame.asymmetry.length} pairs`,
        );
      }
      // A frame with a non-finite feature (a NaN sample upstream) is dropped: it would poison the
      // statistics, and a decoder cannot use it.
      if (!allFinite(frame.logPower) || !allFinite(frame.de) || !allFinite(frame.asymmetry)) return;
      if (!power.frozen) {
        if (frame.endTime <= first.startTime + baselineSeconds) {
          power.observe(frame.logPower);
          de.observe(frame.de);
          asym.observe(frame.asymmetry);
          return;
        }
        power.freeze();
        de.freeze();
        asym.freeze();
      }
      emit({
        ...frame,
        logPower: power.apply(frame.logPower),
        de: de.apply(frame.de),
        asymmetry: asym.apply(frame.asymmetry),
      });
      power.observe(frame.logPower);
      de.observe(frame.de);
      asym.observe(frame.asymmetry);
    };
  });
}
