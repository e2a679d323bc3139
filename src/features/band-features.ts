import type { OperatorFunction } from 'rxjs';
import { butterworthSos, checkOrder } from '../dsp/butterworth.js';
import { findChannels, normaliseLabel } from '../dsp/channel-match.js';
import { EEG_BANDS, validateBands, type FrequencyBand } from '../dsp/frequency-bands.js';
import { SampleRing } from '../dsp/sample-ring.js';
import { SosFilter } from '../dsp/sos-filter.js';
import { WelchPsd } from '../dsp/welch.js';
import { secondsToSamples } from '../dsp/windows.js';
import { assertSameStream } from '../stream/chunk.js';
import { statefulOperator } from '../stream/stateful-operator.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import { sampleTime } from '../stream/types.js';

/**
 * Spectral features for emotion decoding, computed as a streaming operator over sliding windows:
 * per channel and band, the log band power (Welch) and the differential entropy (DE) of the
 * band-passed signal, plus frontal alpha asymmetry (FAA).
 *
 * - Windows follow `slidingWindows`: the first ends at sample `window − 1` (in samples), later
 *   ones every `hop` samples, whatever the chunking.
 * - Band power: Welch PSD of the raw window (see WelchPsd: periodic Hann segments of
 *   `welchSegment` seconds, `welchOverlap` overlap, segment means removed, density scaling), summed
 *   over the bins with `low <= f < high` and multiplied by the bin width (rectangle rule), in µV²;
 *   the frame carries its log10.
 * - DE (Duan et al. 2013, as in SEED): every channel runs through a causal Butterworth band-pass per
 *   band (order `filterOrder`, `butter(order, [low, high], 'bandpass', fs, output='sos')`, started
 *   in the steady state for the stream's first sample as scipy's `sosfilt_zi(sos) * x[0]`, state
 *   carried across chunks), and for a Gaussian
 *   signal of variance σ² over the window, DE = ½·ln(2πe·σ²) (σ² with the window mean removed,
 *   divided by the window length).
 * - FAA: ln(P_alpha(right)) − ln(P_alpha(left)) from the Welch alpha band powers, per pair.
 *
 * Powers and variances are floored at POWER_FLOOR before taking logs, so a flat (disconnected)
 * channel gives large negative but finite features instead of −Infinity.
 *
 * Per-band filtering uses SosFilter directly rather than the `filterBank` operator: the features
 * need the raw and the filtered signals side by side, sample for sample, and filterBank allocates a
 * new chunk per input chunk; the filter design and the filter itself are the same.
 */

/** Lowest band power (µV²) or variance used in a logarithm. */
export const POWER_FLOOR = 1e-20;

/** Frontal electrode pairs `[left, right]` looked for when `asymmetryPairs` is not given, in order. */
export const FRONTAL_PAIRS: readonly (readonly [string, string])[] = Object.freeze([
  Object.freeze(['Fp1', 'Fp2'] as const),
  Object.freeze(['AF3', 'AF4'] as const),
  Object.freeze(['F3', 'F4'] as const),
  Object.freeze(['F7', 'F8'] as const),
]);

export interface FeatureFrame {
  readonly channels: readonly string[];
  /** Band names, in order. */
  readonly bands: readonly string[];
  /** log10 Welch band power (µV²), channels x bands, `values[c * bands.length + b]`. */
  readonly logPower: Float32Array;
  /** Differential entropy (nats), channels x bands, same layout. */
  readonly de: Float32Array;
  /** Frontal alpha asymmetry, one value per pair: ln(alpha power right) − ln(alpha power left). */
  readonly asymmetry: Float32Array;
  /** `[left, right]` channel labels as the stream names them, e.g. ['F3', 'F4']. */
  readonly asymmetryPairs: readonly (readonly [string, string])[];
  /** Stream time of the window's first sample. */
  readonly startTime: number;
  /** Stream time of the window's last sample. */
  readonly endTime: number;
  /** Global index of the window's first sample. */
  readonly firstSample: number;
  /** `receivedAt` of the chunk that completed the window. */
  readonly receivedAt: number;
}

export interface BandFeatureOptions {
  /** Window length, seconds (default 2). */
  window?: number;
  /** Step between windows, seconds (default 0.5). */
  hop?: number;
  /** Bands (default EEG_BANDS: delta, theta, alpha, beta, gamma). Edges must be below Nyquist. */
  bands?: readonly FrequencyBand[];
  /**
   * Welch segment length, seconds (default 1), rounded to samples; at most `window`. Any number of
   * samples works; a power of two uses the FFT (see WelchPsd).
   */
  welchSegment?: number;
  /** Overlap of consecutive Welch segments as a fraction of a segment, [0, 1) (default 0.5); noverlap = round(fraction · nperseg). */
  welchOverlap?: number;
  /** Butterworth order of the DE band-pass filters (default 4). */
  filterOrder?: number;
  /**
   * `[left, right]` channel label pairs for FAA (labels match loosely: case, "EEG " prefixes and
   * trailing dots are ignored). Default: those of FRONTAL_PAIRS present among the channels. Needs a
   * band named "alpha".
   */
  asymmetryPairs?: readonly (readonly [string, string])[];
  /** Channels to use, by label, in this order (default: every channel of type 'eeg'). */
  channels?: readonly string[];
}

interface Resolved {
  window: number;
  hop: number;
  bands: readonly FrequencyBand[];
  welchSegment: number;
  welchOverlap: number;
  filterOrder: number;
  asymmetryPairs?: readonly (readonly [string, string])[];
  channels?: readonly string[];
}

function positiveSeconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number of seconds (got ${String(value)})`);
  }
  return value;
}

/** Checks what can be checked without knowing the stream; throws naming the option. */
function resolveOptions(opts: BandFeatureOptions): Resolved {
  const window = positiveSeconds(opts.window ?? 2, 'window');
  const hop = positiveSeconds(opts.hop ?? 0.5, 'hop');
  const welchSegment = positiveSeconds(opts.welchSegment ?? 1, 'welchSegment');
  if (welchSegment > window) throw new Error(`welchSegment (${welchSegment} s) must not be longer than window (${window} s)`);
  const welchOverlap = opts.welchOverlap ?? 0.5;
  if (typeof welchOverlap !== 'number' || !(welchOverlap >= 0 && welchOverlap < 1)) {
    throw new Error(`welchOverlap must be a fraction in [0, 1) (got ${String(welchOverlap)})`);
  }
  const filterOrder = opts.filterOrder ?? 4;
  checkOrder(filterOrder, 'filterOrder');
  const bands = validateBands(opts.bands ?? EEG_BANDS, undefined, 'bands');
  if (opts.asymmetryPairs !== undefined) {
    if (!Array.isArray(opts.asymmetryPairs)) throw new Error('asymmetryPairs must be a list of [left, right] channel labels');
    opts.asymmetryPairs.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
        throw new Error(`asymmetryPairs[${i}] must be [left, right] channel labels (got ${JSON.stringify(p)})`);
      }
      if (normaliseLabel(p[0]) === normaliseLabel(p[1])) throw new Error(`asymmetryPairs[${i}] pairs channel ${p[0]} with itself`);
    });
    if (opts.asymmetryPairs.length > 0 && alphaIndex(bands) < 0) {
      throw new Error(`asymmetryPairs need a band named "alpha" in bands (bands are ${bands.map((b) => b.name).join(', ')})`);
    }
  }
  if (opts.channels !== undefined && (!Array.isArray(opts.channels) || opts.channels.length === 0)) {
    throw new Error('channels must be a non-empty list of channel labels');
  }
  return { window, hop, bands, welchSegment, welchOverlap, filterOrder, asymmetryPairs: opts.asymmetryPairs, channels: opts.channels };
}

function alphaIndex(bands: readonly FrequencyBand[]): number {
  return bands.findIndex((b) => b.name.toLowerCase() === 'alpha');
}

/** Samples filtered per step: bounds the scratch buffers whatever the chunk size. */
const BLOCK = 256;
const TWO_PI_E = 2 * Math.PI * Math.E;

/**
 * The feature computation for one stream, outside RxJS: feed chunks with `push`, frames come out
 * through `emit`. `bandFeatures` wraps it as an operator; offline code can use it directly.
 */
export class BandFeatureExtractor {
  readonly channels: readonly string[];
  readonly bands: readonly string[];
  readonly asymmetryPairs: readonly (readonly [string, string])[];
  /** Window length and hop, samples. */
  readonly windowSamples: number;
  readonly hopSamples: number;
  readonly welch: WelchPsd;

  private readonly info: StreamInfo;
  private readonly picks: number[];
  private readonly bandList: readonly FrequencyBand[];
  private readonly filters: SosFilter[];
  private readonly rawRing: SampleRing;
  private readonly bandRings: SampleRing[];
  private readonly picked: Float32Array;
  /** Per band, the current block filtered through that band. */
  private readonly filtered: Float32Array[];
  private readonly psdOut: Float64Array;
  /** Per band `[from, to)` Welch bin range. */
  private readonly binRanges: Int32Array;
  /** Per pair: channel indices (within the picked channels) of left and right. */
  private readonly pairIndex: Int32Array;
  private readonly alpha: number;
  private readonly power: Float64Array;
  private readonly sums: Float64Array;

  constructor(info: StreamInfo, opts: BandFeatureOptions = {}) {
    const o = resolveOptions(opts);
    const fs = info.sampleRate;
    if (!(fs > 0) || !Number.isFinite(fs)) throw new Error(`bandFeatures needs a regular stream with a positive sampleRate (got ${fs})`);
    this.info = info;
    this.bandList = validateBands(o.bands, fs, 'bands');
    this.bands = Object.freeze(this.bandList.map((b) => b.name));

    const labels = info.channels.map((c) => c.label);
    if (o.channels) {
      try {
        this.picks = findChannels(labels, o.channels);
      } catch (e) {
        throw new Error(`channels: ${(e as Error).message}`);
      }
    } else {
      this.picks = info.channels.flatMap((c, i) => (c.type === 'eeg' ? [i] : []));
      if (this.picks.length === 0) throw new Error(`bandFeatures: stream "${info.name}" has no EEG channels (pick some with the channels option)`);
    }
    this.channels = Object.freeze(this.picks.map((i) => labels[i]));
    const nCh = this.picks.length;

    this.windowSamples = secondsToSamples(o.window, fs, 'window');
    this.hopSamples = secondsToSamples(o.hop, fs, 'hop');
    const nperseg = secondsToSamples(o.welchSegment, fs, 'welchSegment');
    // welchSegment <= window in seconds (resolveOptions), so nperseg <= windowSamples too.
    if (nperseg < 2) throw new Error(`welchSegment (${o.welchSegment} s) must span at least 2 samples at ${fs} Hz`);
    const noverlap = Math.round(o.welchOverlap * nperseg);
    if (noverlap >= nperseg) throw new Error(`welchOverlap ${o.welchOverlap} leaves no step between Welch segments of ${nperseg} samples`);
    const maxFrequency = Math.max(...this.bandList.map((b) => b.high));
    this.welch = new WelchPsd({ sampleRate: fs, channels: nCh, nperseg, noverlap, maxFrequency });
    this.binRanges = new Int32Array(2 * this.bandList.length);
    this.bandList.forEach((b, i) => {
      const [from, to] = this.welch.bandBins(b.low, b.high);
      if (to <= from) {
        throw new Error(`bands: band "${b.name}" [${b.low}, ${b.high}] Hz holds no Welch bin (bins every ${this.welch.df} Hz); lengthen welchSegment`);
      }
      this.binRanges[2 * i] = from;
      this.binRanges[2 * i + 1] = to;
    });

    this.filters = this.bandList.map((b) => {
      try {
        return new SosFilter(butterworthSos(o.filterOrder, [b.low, b.high], fs, 'bandpass'), nCh);
      } catch (e) {
        throw new Error(`bands: band "${b.name}" [${b.low}, ${b.high}] Hz at ${fs} Hz: ${(e as Error).message}`);
      }
    });

    this.alpha = alphaIndex(this.bandList);
    const pairs: (readonly [number, number])[] = [];
    const pickedLabels = this.channels;
    if (o.asymmetryPairs) {
      o.asymmetryPairs.forEach((p, i) => {
        let idx: number[];
        try {
          idx = findChannels(pickedLabels, p);
        } catch (e) {
          throw new Error(`asymmetryPairs[${i}]: ${(e as Error).message}`);
        }
        pairs.push([idx[0], idx[1]]);
      });
    } else if (this.alpha >= 0) {
      const keys = pickedLabels.map(normaliseLabel);
      for (const [left, right] of FRONTAL_PAIRS) {
        const l = keys.indexOf(normaliseLabel(left));
        const r = keys.indexOf(normaliseLabel(right));
        if (l >= 0 && r >= 0) pairs.push([l, r]);
      }
    }
    this.pairIndex = Int32Array.from(pairs.flat());
    this.asymmetryPairs = Object.freeze(pairs.map(([l, r]) => Object.freeze([pickedLabels[l], pickedLabels[r]] as const)));

    this.rawRing = new SampleRing(this.windowSamples, nCh);
    this.bandRings = this.bandList.map(() => new SampleRing(this.windowSamples, nCh));
    this.picked = new Float32Array(BLOCK * nCh);
    this.filtered = this.bandList.map(() => new Float32Array(BLOCK * nCh));
    this.psdOut = new Float64Array(nCh * this.welch.bins);
    this.power = new Float64Array(nCh * this.bandList.length);
    this.sums = new Float64Array(nCh);
  }

  /** Feeds one chunk of the stream; calls `emit` for every window it completes. */
  push(chunk: Chunk, emit: (frame: FeatureFrame) => void): void {
    assertSameStream(this.info, chunk, 'bandFeatures');
    const nIn = this.info.channels.length;
    const nCh = this.picks.length;
    const nBands = this.bandList.length;
    for (let start = 0; start < chunk.samples; start += BLOCK) {
      const count = Math.min(BLOCK, chunk.samples - start);
      const src = chunk.data;
      const picks = this.picks;
      const picked = this.picked;
      for (let s = 0; s < count; s++) {
        const from = (start + s) * nIn;
        for (let c = 0; c < nCh; c++) picked[s * nCh + c] = src[from + picks[c]];
      }
      // The band filters start in their steady state for the stream's first sample: an offset (a
      // DC-coupled headset reads thousands of µV) must not ring through the first seconds of DE.
      if (this.rawRing.written === 0 && start === 0) for (const f of this.filters) f.initSteadyState(picked.subarray(0, nCh));
      for (let b = 0; b < nBands; b++) this.filters[b].process(picked, count, this.filtered[b]);
      for (let s = 0; s < count; s++) {
        this.rawRing.pushSample(picked, s);
        for (let b = 0; b < nBands; b++) this.bandRings[b].pushSample(this.filtered[b], s);
        const written = this.rawRing.written;
        const excess = written - this.windowSamples;
        if (excess >= 0 && excess % this.hopSamples === 0) {
          const at = start + s;
          const endTime = sampleTime(chunk, at);
          // The window's first sample may lie in an earlier chunk: its time from the nominal rate.
          const startTime = endTime - (this.windowSamples - 1) / this.info.sampleRate;
          emit(this.frame(excess, startTime, endTime, chunk.firstSample + at - this.windowSamples + 1, chunk.receivedAt));
        }
      }
    }
  }

  /** Features of the window of ring samples `[start, start + windowSamples)`. */
  private frame(start: number, startTime: number, endTime: number, firstSample: number, receivedAt: number): FeatureFrame {
    const n = this.windowSamples;
    const nCh = this.picks.length;
    const nBands = this.bandList.length;
    const welch = this.welch;
    const logPower = new Float32Array(nCh * nBands);
    const de = new Float32Array(nCh * nBands);
    const asymmetry = new Float32Array(this.pairIndex.length / 2);

    const psd = welch.psd(this.rawRing.view(start, n), n, this.psdOut);
    const bins = welch.bins;
    for (let c = 0; c < nCh; c++) {
      for (let b = 0; b < nBands; b++) {
        let p = 0;
        for (let k = this.binRanges[2 * b]; k < this.binRanges[2 * b + 1]; k++) p += psd[c * bins + k];
        p = Math.max(p * welch.df, POWER_FLOOR);
        this.power[c * nBands + b] = p;
        logPower[c * nBands + b] = Math.log10(p);
      }
    }

    const sums = this.sums;
    for (let b = 0; b < nBands; b++) {
      const v = this.bandRings[b].view(start, n);
      sums.fill(0);
      for (let s = 0; s < n; s++) for (let c = 0; c < nCh; c++) sums[c] += v[s * nCh + c];
      for (let c = 0; c < nCh; c++) {
        const mean = sums[c] / n;
        let sq = 0;
        for (let s = 0; s < n; s++) {
          const d = v[s * nCh + c] - mean;
          sq += d * d;
        }
        de[c * nBands + b] = 0.5 * Math.log(TWO_PI_E * Math.max(sq / n, POWER_FLOOR));
      }
    }

    for (let i = 0; i < asymmetry.length; i++) {
      const left = this.power[this.pairIndex[2 * i] * nBands + this.alpha];
      const right = this.power[this.pairIndex[2 * i + 1] * nBands + this.alpha];
      asymmetry[i] = Math.log(right) - Math.log(left);
    }

    return {
      channels: this.channels,
      bands: this.bands,
      logPower,
      de,
      asymmetry,
      asymmetryPairs: this.asymmetryPairs,
      startTime,
      endTime,
      firstSample,
      receivedAt,
    };
  }
}

/**
 * Streaming band features (log Welch band power, differential entropy, frontal alpha asymmetry)
 * over sliding windows; see the module comment. Options that do not depend on the stream are
 * checked when the operator is created (errors thrown at once, naming the option); the rest (band
 * edges against Nyquist, window against Welch segment in samples, channel labels) on the first
 * chunk, as a stream error. A stream whose channel count or rate changes errors.
 */
export function bandFeatures(opts: BandFeatureOptions = {}): OperatorFunction<Chunk, FeatureFrame> {
  resolveOptions(opts);
  return statefulOperator(() => {
    let extractor: BandFeatureExtractor | undefined;
    return (chunk: Chunk, emit: (f: FeatureFrame) => void) => {
      extractor ??= new BandFeatureExtractor(chunk.info, opts);
      extractor.push(chunk, emit);
    };
  });
}

/** The frames of a whole recording (sample-major `data`, `info`'s channels), for offline use. */
export function computeBandFeatures(info: StreamInfo, data: Float32Array, opts: BandFeatureOptions = {}): FeatureFrame[] {
  const channels = info.channels.length;
  if (data.length % channels !== 0) throw new Error(`data has ${data.length} values, not a whole number of ${channels}-channel samples`);
  const frames: FeatureFrame[] = [];
  const extractor = new BandFeatureExtractor(info, opts);
  extractor.push({ info, data, samples: data.length / channels, firstSample: 0, time: 0, markers: [], receivedAt: 0 }, (f) => frames.push(f));
  return frames;
}
