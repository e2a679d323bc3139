/**
 * Time-stamp post-processing for XDF streams, as pyxdf's `load_xdf` does it (the reference
 * implementation of XDF import; algorithms re-implemented here, results checked against it):
 *
 * 1. `isCorruptedLastClockOffset`: the last ClockOffset of a stream is garbage when an outlet died
 *    while the recorder was connected (pylsl#67, liblsl#246); pyxdf drops it, together with the
 *    extra samples, when the stream also holds more samples than its footer's sample_count.
 * 2. `synchronizeClock`: the stream's clock offsets (collection time, offset value) are split at
 *    clock resets (`detectClockResets`), a robust (Huber) line is fitted to each piece
 *    (`robustLinearFit`), and each time stamp t becomes t + intercept + slope * t of its piece.
 * 3. `dejitter`: a regularly sampled stream is cut at breaks (a gap longer than
 *    max(threshold seconds, threshold samples / rate)) and the time stamps of each segment are
 *    replaced by their least-squares line over the sample index; the effective rate is the weighted
 *    mean over the segments.
 *
 * Everything here is a pure function of Float64Arrays; inputs are never modified. Segments are
 * inclusive index pairs [first, last], as pyxdf's `info['segments']` / `info['clock_segments']`.
 */

export type Segment = [number, number];

export interface ClockResetThresholds {
  /** A reset needs a ClockOffset delayed by at least this many seconds (pyxdf: 5). */
  readonly thresholdSeconds: number;
  /** ... and by this many (MAD-scaled) deviations from the typical interval (pyxdf: 5). */
  readonly thresholdStds: number;
  /** A reset needs an offset change of at least this many seconds from the median change (pyxdf: 1). */
  readonly thresholdOffsetSeconds: number;
  /** ... and of this many (MAD-scaled) deviations (pyxdf: 10). */
  readonly thresholdOffsetStds: number;
}

export interface ClockSyncOptions extends ClockResetThresholds {
  /** Look for clock resets (pyxdf: true); without, one line is fitted to all offsets. */
  readonly handleClockResets: boolean;
  /** Offsets farther than this (seconds) from the fit count as outliers in the Huber loss (pyxdf: 0.0001). */
  readonly winsorThreshold: number;
}

export const DEFAULT_CLOCK_SYNC: ClockSyncOptions = {
  handleClockResets: true,
  thresholdSeconds: 5,
  thresholdStds: 5,
  thresholdOffsetSeconds: 1,
  thresholdOffsetStds: 10,
  winsorThreshold: 0.0001,
};

const EPS = 2.220446049250313e-16; // numpy's finfo(float).eps

/** The median as numpy computes it (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Consecutive differences, length n - 1. */
function diff(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(Math.max(0, values.length - 1));
  for (let i = 0; i < out.length; i++) out[i] = values[i + 1] - values[i];
  return out;
}

/**
 * Inclusive segments between breaks: `breaks[i]` set means a break between element i and i + 1
 * (so `breaks` has one entry less than the series). An empty `breaks` is one segment [0, 0].
 */
export function segmentsFromBreaks(breaks: ArrayLike<boolean | number>): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  for (let i = 0; i < breaks.length; i++) {
    if (breaks[i]) {
      out.push([start, i]);
      start = i + 1;
    }
  }
  out.push([start, breaks.length]);
  return out;
}

/** Differences lying both > `stds` MAD units and > `secs` seconds from their median (pyxdf's `_segment_clock_diff`). */
function outlyingDiffs(d: Float64Array, stds: number, secs: number): Uint8Array {
  const med = median(d);
  const shifted = new Float64Array(d.length);
  const absShifted = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) {
    shifted[i] = d[i] - med;
    absShifted[i] = Math.abs(shifted[i]);
  }
  const mad = median(absShifted) + EPS;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Math.abs(shifted[i] / mad) > stds && absShifted[i] > secs ? 1 : 0;
  return out;
}

/**
 * Ranges of clock offsets between clock resets (inclusive indices into the offsets). A reset lies
 * between two offsets whose collection times go backwards, or whose time interval and offset
 * change are both outliers. Needs at least two offsets.
 */
export function detectClockResets(clockTimes: ArrayLike<number>, clockValues: ArrayLike<number>, t: ClockResetThresholds): Segment[] {
  if (clockTimes.length < 2) throw new RangeError('two or more clock offsets are needed to detect clock resets');
  const timeDiff = diff(clockTimes);
  const valueDiff = diff(clockValues);
  const timeGlitch = outlyingDiffs(timeDiff, t.thresholdStds, t.thresholdSeconds);
  const valueGlitch = outlyingDiffs(valueDiff, t.thresholdOffsetStds, t.thresholdOffsetSeconds);
  const resets = new Uint8Array(timeDiff.length);
  for (let i = 0; i < resets.length; i++) resets[i] = timeDiff[i] < 0 || (timeGlitch[i] && valueGlitch[i]) ? 1 : 0;
  return segmentsFromBreaks(resets);
}

/**
 * Solves the 2x2 system M x = b by LU with partial pivoting (what numpy.linalg.solve does), so that
 * the ADMM iterations below follow the reference's rounding closely.
 */
function solve2(m00: number, m01: number, m10: number, m11: number, b0: number, b1: number, out: Float64Array): void {
  if (Math.abs(m10) > Math.abs(m00)) {
    let t = m00;
    m00 = m10;
    m10 = t;
    t = m01;
    m01 = m11;
    m11 = t;
    t = b0;
    b0 = b1;
    b1 = t;
  }
  const l = m10 * (1 / m00);
  const u11 = m11 - l * m01;
  const y1 = b1 - l * b0;
  const x1 = y1 / u11;
  out[1] = x1;
  out[0] = (b0 - m01 * x1) / m00;
}

/**
 * Robust straight-line fit y ~ intercept + slope * x minimising the Huber loss (threshold 1 in the
 * units of y), by ADMM as pyxdf's `_robust_fit` (Boyd et al.'s distributed-optimisation code), with
 * the same fixed `iters` iterations. Returns [intercept, slope], or undefined when the normal
 * matrix is singular (all x equal: numpy's Cholesky raises LinAlgError there).
 *
 * The iterations run on x - min(x) (as pyxdf) and on y - mean(y) (pyxdf: y itself). In exact
 * arithmetic that changes nothing (the iterates only shift), but with y far from 0 (clock offsets
 * of days, scaled by 1/winsor) pyxdf's iterations stall a few ulps of y away from the minimum: on
 * the clock_resets example its lines lie up to 8e-9 s from the exact Huber minimiser, which this
 * one reaches.
 */
export function robustLinearFit(x: ArrayLike<number>, y: ArrayLike<number>, rho = 1, iters = 1000): [number, number] | undefined {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`robustLinearFit: ${n} x values but ${y.length} y values`);
  if (n === 0) return undefined;
  let offset = Infinity;
  let yRef = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] < offset) offset = x[i];
    yRef += y[i];
  }
  yRef /= n;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let sa = 0;
  let saa = 0;
  let sy = 0;
  let say = 0;
  for (let i = 0; i < n; i++) {
    a[i] = x[i] - offset;
    b[i] = y[i] - yRef;
    sa += a[i];
    saa += a[i] * a[i];
    sy += b[i];
    say += a[i] * b[i];
  }
  const l00 = Math.sqrt(n);
  const l10 = sa * (1 / l00);
  const d11 = saa - l10 * l10;
  if (!(d11 > 0)) return undefined;
  const l11 = Math.sqrt(d11);
  const z = new Float64Array(n);
  const u = new Float64Array(n);
  const w = new Float64Array(2);
  const sol = new Float64Array(2);
  const keep = rho / (1 + rho);
  const shrink = 1 / (1 + rho);
  const k = 1 + 1 / rho;
  for (let it = 0; it < iters; it++) {
    let r0 = 0;
    let r1 = 0;
    for (let i = 0; i < n; i++) {
      const zu = z[i] - u[i];
      r0 += zu;
      r1 += a[i] * zu;
    }
    solve2(l00, 0, l10, l11, sy + r0, say + r1, w); // L w = A'y + A'(z - u)
    solve2(l00, l10, 0, l11, w[0], w[1], sol); // L' x = w
    const x0 = sol[0];
    const x1 = sol[1];
    for (let i = 0; i < n; i++) {
      const d = x0 + a[i] * x1 - b[i] + u[i];
      const dInv = d !== 0 ? 1 / d : 0;
      const tmp = Math.max(0, 1 - k * Math.abs(dInv));
      const zi = keep * d + shrink * tmp * d;
      z[i] = zi;
      u[i] = d - zi;
    }
  }
  // x as solved at the top of the last iteration, back on the original x axis.
  return [yRef + sol[0] - sol[1] * offset, sol[1]];
}

export interface ClockSyncResult {
  /** The corrected time stamps (a new array). */
  readonly timeStamps: Float64Array;
  /** Ranges of samples corrected by one fitted line each (pyxdf's `clock_segments`). */
  readonly clockSegments: Segment[];
  /** Things worth telling: offsets that could not be fitted, a clock range without samples. */
  readonly warnings: string[];
}

/**
 * Maps a stream's time stamps onto the recorder's clock using its ClockOffset measurements
 * (pyxdf's `_clock_sync` for one stream). With no samples or no offsets nothing changes and there
 * are no clock segments. Time stamps are assumed to increase within each clock range.
 */
export function synchronizeClock(timeStamps: Float64Array, clockTimes: ArrayLike<number>, clockValues: ArrayLike<number>, options: Partial<ClockSyncOptions> = {}): ClockSyncResult {
  const o = { ...DEFAULT_CLOCK_SYNC, ...options };
  const ts = Float64Array.from(timeStamps);
  const warnings: string[] = [];
  const clockSegments: Segment[] = [];
  const nOffsets = clockTimes.length;
  if (ts.length === 0 || nOffsets === 0) return { timeStamps: ts, clockSegments, warnings };
  const ranges: Segment[] = o.handleClockResets && nOffsets > 1 ? detectClockResets(clockTimes, clockValues, o) : [[0, nOffsets - 1]];

  const coefs: [number, number][] = ranges.map(([first, last]) => {
    const coef = fitOffsets(clockTimes, clockValues, first, last, o.winsorThreshold);
    if (coef === undefined) {
      warnings.push(`clock offsets ${first}..${last} cannot be used for synchronization (their collection times are all equal)`);
      return [0, 0];
    }
    if (!coef.every(Number.isFinite)) {
      warnings.push(`clock offsets ${first}..${last} cannot be used for synchronization (not finite, or too large for a fit: corrupt offsets?)`);
      return [0, 0];
    }
    return coef;
  });

  if (ranges.length === 1) {
    const [c0, c1] = coefs[0];
    for (let i = 0; i < ts.length; i++) ts[i] += c0 + c1 * ts[i];
    clockSegments.push([0, ts.length - 1]);
    return { timeStamps: ts, clockSegments, warnings };
  }

  let start = 0;
  for (let r = 0; r < ranges.length; r++) {
    const [, lastOffset] = ranges[r];
    let stop: number;
    if (lastOffset + 1 < nOffsets) {
      // The range ends at the first time stamp nearer the next range's first offset than this
      // range's last one.
      const endT = clockTimes[lastOffset];
      const nextT = clockTimes[lastOffset + 1];
      stop = ts.length;
      for (let i = start; i < ts.length; i++) {
        if (!(Math.abs(ts[i] - endT) < Math.abs(ts[i] - nextT))) {
          stop = i;
          break;
        }
      }
    } else {
      stop = ts.length;
    }
    if (stop === start) {
      warnings.push(`no samples in the clock range of offsets ${ranges[r][0]}..${lastOffset}, skipped`);
      continue;
    }
    clockSegments.push([start, stop - 1]);
    const [c0, c1] = coefs[r];
    for (let i = start; i < stop; i++) ts[i] += c0 + c1 * ts[i];
    start = stop;
  }
  return { timeStamps: ts, clockSegments, warnings };
}

/** Offset = c0 + c1 * time over clock offsets first..last; undefined when their times are all equal. */
function fitOffsets(clockTimes: ArrayLike<number>, clockValues: ArrayLike<number>, first: number, last: number, w: number): [number, number] | undefined {
  if (first === last) return [clockValues[first], 0];
  // In units of the winsor threshold (the Huber threshold is 1), relative to the first offset.
  const t0 = clockTimes[first];
  const v0 = clockValues[first];
  const x = new Float64Array(last - first + 1);
  const y = new Float64Array(last - first + 1);
  for (let i = first; i <= last; i++) {
    x[i - first] = (clockTimes[i] - t0) / w;
    y[i - first] = (clockValues[i] - v0) / w;
  }
  const fit = robustLinearFit(x, y);
  return fit && [v0 + fit[0] * w - fit[1] * t0, fit[1]];
}

/**
 * Whether the last clock offset is an outlier (pyxdf's `_detect_corrupted_clock_offset`): its
 * interval exceeds `timeThreshold` times the median interval, or its value lies more than
 * `valueThreshold` robust z-units (MAD * 1.4826) from the median of the others. Needs 3 offsets.
 */
export function isCorruptedLastClockOffset(clockTimes: ArrayLike<number>, clockValues: ArrayLike<number>, timeThreshold = 10, valueThreshold = 10): boolean {
  const n = clockTimes.length;
  if (n < 3) return false;
  const intervals = diff(clockTimes);
  const medInterval = median(intervals.subarray(0, n - 2));
  const lastInterval = Math.abs(intervals[n - 2]);
  const timeRatio = medInterval > 0 ? lastInterval / medInterval : lastInterval > 0 ? Infinity : 1;
  const head = Float64Array.from({ length: n - 1 }, (_, i) => clockValues[i]);
  const medValue = median(head);
  const mad = median(head.map((v) => Math.abs(v - medValue)));
  const z = mad > EPS ? Math.abs(clockValues[n - 1] - medValue) / (1.4826 * mad) : 0;
  return timeRatio > timeThreshold || z > valueThreshold;
}

export interface DejitterOptions {
  /** A gap of at least this many seconds (and samples, below) is a break (pyxdf: 1). */
  readonly thresholdSeconds: number;
  /** A gap of at least this many nominal sample periods (and seconds, above) is a break (pyxdf: 500). */
  readonly thresholdSamples: number;
  /**
   * The stream says it can drop samples (`desc/synchronization/can_drop_samples` = true): its time
   * stamps are kept as they are (a line would squeeze the dropped frames), one segment.
   */
  readonly canDropSamples?: boolean;
}

export interface DejitterResult {
  readonly timeStamps: Float64Array;
  readonly segments: Segment[];
  /** Samples per second measured over the segments; 0 when not measurable (irregular stream, single samples). */
  readonly effectiveSrate: number;
}

/**
 * Jitter removal (pyxdf's `_jitter_removal` for one stream): for a stream with a nominal rate, the
 * time stamps of each segment between breaks are replaced by their least-squares line over the
 * sample index. Irregular streams (rate 0) are left alone as one segment with effective rate 0.
 */
export function dejitter(timeStamps: Float64Array, nominalSrate: number, options: DejitterOptions): DejitterResult {
  const n = timeStamps.length;
  const ts = Float64Array.from(timeStamps);
  if (n === 0) return { timeStamps: ts, segments: [], effectiveSrate: 0 };
  if (nominalSrate === 0) return { timeStamps: ts, segments: [[0, n - 1]], effectiveSrate: 0 };
  if (options.canDropSamples) {
    const duration = ts[n - 1] - ts[0];
    return { timeStamps: ts, segments: [[0, n - 1]], effectiveSrate: n > 1 && duration > 0 ? (n - 1) / duration : 0 };
  }
  const threshold = Math.max(options.thresholdSeconds, options.thresholdSamples / nominalSrate);
  const breaks = new Uint8Array(n - 1);
  for (let i = 0; i < n - 1; i++) breaks[i] = Math.abs(ts[i + 1] - ts[i]) > threshold ? 1 : 0;
  const segments = segmentsFromBreaks(breaks);
  let steps = 0;
  let duration = 0;
  for (const [first, last] of segments) {
    const m = last - first + 1;
    if (m > 1) {
      // Least squares over the index, centred (on the index and on the first stamp) for accuracy.
      const y0 = ts[first];
      const iMean = (m - 1) / 2;
      let yMean = 0;
      for (let i = 0; i < m; i++) yMean += ts[first + i] - y0;
      yMean /= m;
      let sxy = 0;
      let sxx = 0;
      for (let i = 0; i < m; i++) {
        const dx = i - iMean;
        sxy += dx * (ts[first + i] - y0 - yMean);
        sxx += dx * dx;
      }
      const slope = sxy / sxx;
      for (let i = 0; i < m; i++) ts[first + i] = y0 + yMean + slope * (i - iMean);
      steps += m - 1;
    }
    duration += ts[last] - ts[first];
  }
  return { timeStamps: ts, segments, effectiveSrate: steps > 0 ? steps / duration : 0 };
}

/** The effective rate without jitter removal (pyxdf): (n - 1) / (last - first) for a regular stream of 2+ samples, else 0. */
export function plainEffectiveSrate(timeStamps: Float64Array, nominalSrate: number): number {
  const n = timeStamps.length;
  if (nominalSrate === 0 || n < 2) return 0;
  return (n - 1) / (timeStamps[n - 1] - timeStamps[0]);
}
