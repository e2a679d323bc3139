import { z } from 'zod';
import { issueLines } from '../util/zod-issues.js';

/**
 * Features of an image-locked epoch for a linear decoder such as ridge: each channel
 * baseline-corrected (minus its pre-onset mean), divided by a per-channel scale fitted on the
 * training epochs (magnetometers in T and gradiometers in T/m differ by ~100x, and a penalty on
 * the weights must see comparable inputs), then averaged in `bins` equal time bins over
 * `from`..`to` seconds after the onset (default 0..0.8 s in 40 bins of 20 ms). The feature vector
 * is bin-major: value (bin b, channel c) at b * channels + c — the epochs' own sample-major
 * layout, decimated, so 306 channels x 40 bins = 12,240 features.
 */

/** What featurising needs of an epoch (an ImageEpoch fits). */
export interface EpochLike {
  /** samples x channels, sample-major. */
  readonly data: Float32Array;
  readonly samples: number;
  /** Index of the onset sample. */
  readonly onset: number;
}

export interface EpochFeatureOptions {
  /** Window start and end after the onset, s (default 0 and 0.8). */
  from?: number;
  to?: number;
  /** Time bins over the window (default 40). */
  bins?: number;
  /** Subtract each channel's pre-onset mean (default true; no-op for an epoch without baseline). */
  baseline?: boolean;
}

const epochFeaturesSchema = z.object({
  channels: z.number().int().min(1),
  sampleRate: z.number().positive(),
  bins: z.number().int().min(1),
  edges: z.array(z.number().int().min(0)),
  baseline: z.boolean(),
  scale: z.array(z.number().positive().finite()),
});
export type EpochFeaturesJson = z.infer<typeof epochFeaturesSchema>;

export class EpochFeatures {
  /** Features per epoch: bins x channels. */
  readonly size: number;
  private readonly edges: Int32Array;
  private readonly mean: Float64Array;

  private constructor(
    readonly channels: number,
    readonly sampleRate: number,
    readonly bins: number,
    edges: Int32Array,
    readonly baseline: boolean,
    /** Per-channel divisor (the SD of the corrected training signal in the window). */
    readonly scale: Float64Array,
  ) {
    this.size = bins * channels;
    this.edges = edges;
    this.mean = new Float64Array(channels);
  }

  /** Bin edges and channel scales from training epochs (all of the same length and onset). */
  static fit(epochs: readonly EpochLike[], channels: number, sampleRate: number, opts: EpochFeatureOptions = {}): EpochFeatures {
    if (epochs.length === 0) throw new Error('epoch features: no epochs to fit');
    const from = opts.from ?? 0;
    const to = opts.to ?? 0.8;
    const bins = opts.bins ?? 40;
    if (!Number.isInteger(bins) || bins < 1) throw new Error(`epoch features: bins must be a positive integer, got ${bins}`);
    if (!(to > from)) throw new Error(`epoch features: need from < to, got ${from}..${to}`);
    const { samples, onset } = epochs[0];
    const edges = new Int32Array(bins + 1);
    for (let b = 0; b <= bins; b++) edges[b] = onset + Math.round((from + ((to - from) * b) / bins) * sampleRate);
    if (edges[0] < 0 || edges[bins] > samples) throw new Error(`epoch features: window ${from}..${to} s is outside the epochs (${-onset / sampleRate}..${(samples - 1 - onset) / sampleRate} s)`);
    for (let b = 0; b < bins; b++) if (edges[b + 1] <= edges[b]) throw new Error(`epoch features: ${bins} bins over ${to - from} s leave bin ${b} empty at ${sampleRate} Hz`);
    const baseline = opts.baseline ?? true;
    const unit = new EpochFeatures(channels, sampleRate, bins, edges, baseline, new Float64Array(channels).fill(1));
    // Scale: SD over the window of the baseline-corrected training signal, per channel.
    const ss = new Float64Array(channels);
    let count = 0;
    for (const ep of epochs) {
      if (ep.samples !== samples || ep.onset !== onset) throw new Error(`epoch features: epochs differ in length or onset (${ep.samples}/${ep.onset} vs ${samples}/${onset})`);
      unit.baselineOf(ep);
      for (let t = edges[0]; t < edges[bins]; t++) {
        const o = t * channels;
        for (let c = 0; c < channels; c++) {
          const v = ep.data[o + c] - unit.mean[c];
          ss[c] += v * v;
        }
      }
      count += edges[bins] - edges[0];
    }
    const scale = Float64Array.from(ss, (v) => (v > 0 ? Math.sqrt(v / count) : 1));
    return new EpochFeatures(channels, sampleRate, bins, edges, baseline, scale);
  }

  /** The fitted state, for saving with a model. */
  toJSON(): EpochFeaturesJson {
    return { channels: this.channels, sampleRate: this.sampleRate, bins: this.bins, edges: Array.from(this.edges), baseline: this.baseline, scale: Array.from(this.scale) };
  }

  /** Rebuilds saved features; errors name the field. */
  static fromJSON(json: unknown, source = 'features'): EpochFeatures {
    const parsed = epochFeaturesSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${source}: ${issueLines(parsed.error).trim()}`);
    const j = parsed.data;
    if (j.edges.length !== j.bins + 1) throw new Error(`${source}.edges: ${j.edges.length} edges for ${j.bins} bins (expected ${j.bins + 1})`);
    if (j.scale.length !== j.channels) throw new Error(`${source}.scale: ${j.scale.length} values for ${j.channels} channels`);
    for (let b = 0; b < j.bins; b++) if (!(j.edges[b + 1] > j.edges[b])) throw new Error(`${source}.edges.${b + 1}: edges must increase`);
    return new EpochFeatures(j.channels, j.sampleRate, j.bins, Int32Array.from(j.edges), j.baseline, Float64Array.from(j.scale));
  }

  /** The features of one epoch into `out` (length `size`). */
  transform(ep: EpochLike, out: Float32Array = new Float32Array(this.size)): Float32Array {
    const { channels, bins, edges, mean, scale } = this;
    if (ep.data.length < ep.samples * channels || edges[bins] > ep.samples) throw new Error(`epoch features: epoch of ${ep.samples} samples does not fit the window`);
    this.baselineOf(ep);
    for (let b = 0; b < bins; b++) {
      const o = b * channels;
      for (let c = 0; c < channels; c++) out[o + c] = 0;
      for (let t = edges[b]; t < edges[b + 1]; t++) {
        const to = t * channels;
        for (let c = 0; c < channels; c++) out[o + c] += ep.data[to + c];
      }
      const k = edges[b + 1] - edges[b];
      for (let c = 0; c < channels; c++) out[o + c] = (out[o + c] / k - mean[c]) / scale[c];
    }
    return out;
  }

  /** Features of every epoch, row-major (epochs x size). */
  transformAll(epochs: readonly EpochLike[]): Float32Array {
    const out = new Float32Array(epochs.length * this.size);
    epochs.forEach((ep, i) => this.transform(ep, out.subarray(i * this.size, (i + 1) * this.size)));
    return out;
  }

  private baselineOf(ep: EpochLike): void {
    const { channels, mean } = this;
    mean.fill(0);
    if (!this.baseline || ep.onset === 0) return;
    for (let t = 0; t < ep.onset; t++) for (let c = 0; c < channels; c++) mean[c] += ep.data[t * channels + c];
    for (let c = 0; c < channels; c++) mean[c] /= ep.onset;
  }
}
