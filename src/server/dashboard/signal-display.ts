import type { SignalRing } from './signal-ring.js';

/**
 * The signal chart's display buffers, reused between redraws (grown when needed): at most two
 * points (min, max) per pixel column, the columns aligned to absolute sample numbers so they do
 * not shimmer as the window scrolls; each channel centred on its row (row c of n centred at
 * n - c - 0.5) and scaled by its own smoothed standard deviation.
 */
export class SignalDisplay {
  /** Sample times of the points. */
  xs = new Float64Array(0);
  /** Scratch for the points' x in canvas pixels (filled by the chart). */
  xpx = new Float64Array(0);
  /** Per channel, the points' y in rows. */
  ys: Float64Array[] = [];
  /** Points in use. */
  points = 0;
  /** Per channel, the smoothed standard deviation (µV) the scale is based on. */
  sd = new Float64Array(0);
  private bucketStart = new Int32Array(0);
  private ring: SignalRing | null = null;

  /** For a new channel list. */
  reset(channels: number): void {
    this.sd = new Float64Array(channels);
    this.ys = [];
  }

  /** Fills the buffers from the ring for a plot this many CSS pixels wide; returns the points. */
  build(ring: SignalRing | null, n: number, plotWidth: number): number {
    this.points = 0;
    if (!ring || ring.n !== n || ring.count === 0) return 0;
    // a new ring (the stream started over): scales from scratch
    if (ring !== this.ring) {
      this.ring = ring;
      this.sd.fill(0);
    }
    const { cap, count, data, time } = ring;
    const oldest = (ring.head - count + cap) % cap;
    const first = ring.written - count;
    const step = Math.max(1, Math.ceil(count / Math.max(50, plotWidth / 2)));
    // bucket layout (shared by all channels)
    const maxBuckets = Math.ceil(count / step) + 2;
    if (this.bucketStart.length < maxBuckets + 1) this.bucketStart = new Int32Array(maxBuckets + 1);
    const starts = this.bucketStart;
    let buckets = 0;
    let prevId = -1;
    for (let k = 0; k < count; k++) {
      const id = Math.floor((first + k) / step);
      if (id !== prevId) {
        starts[buckets++] = k;
        prevId = id;
      }
    }
    starts[buckets] = count;
    const points = step === 1 ? count : 2 * buckets;
    if (this.xs.length < points) {
      this.xs = new Float64Array(Math.ceil(points * 1.25));
      this.ys = [];
    }
    for (let c = 0; c < n; c++) if (!this.ys[c] || this.ys[c].length < this.xs.length) this.ys[c] = new Float64Array(this.xs.length);
    const xs = this.xs;
    if (step === 1) {
      for (let k = 0; k < count; k++) {
        let p = oldest + k;
        if (p >= cap) p -= cap;
        xs[k] = time[p];
      }
    } else {
      for (let b = 0; b < buckets; b++) {
        let p = oldest + starts[b];
        if (p >= cap) p -= cap;
        xs[2 * b] = xs[2 * b + 1] = time[p];
      }
    }
    for (let c = 0; c < n; c++) {
      const ys = this.ys[c];
      const base = c * cap;
      let sum = 0;
      let sumSq = 0;
      if (step === 1) {
        for (let k = 0; k < count; k++) {
          let p = oldest + k;
          if (p >= cap) p -= cap;
          const v = data[base + p];
          ys[k] = v;
          sum += v;
          sumSq += v * v;
        }
      } else {
        for (let b = 0; b < buckets; b++) {
          let lo = Infinity;
          let hi = -Infinity;
          const end = starts[b + 1];
          let p = oldest + starts[b];
          if (p >= cap) p -= cap;
          for (let k = starts[b]; k < end; k++) {
            const v = data[base + p];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            sum += v;
            sumSq += v * v;
            if (++p === cap) p = 0;
          }
          ys[2 * b] = lo;
          ys[2 * b + 1] = hi;
        }
      }
      const mean = sum / count;
      const sd = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
      const prev = this.sd[c];
      const s = prev > 0 ? prev + 0.25 * (sd - prev) : sd;
      this.sd[c] = s;
      // +-3 SD spans 90 % of a row; big excursions are clipped to a little over a row
      const gain = 0.45 / (3 * Math.max(s, 0.05));
      const centre = n - c - 0.5;
      const lo = centre - 0.75;
      const hi = centre + 0.75;
      for (let i = 0; i < points; i++) {
        const y = centre + (ys[i] - mean) * gain;
        ys[i] = y < lo ? lo : y > hi ? hi : y;
      }
    }
    this.points = points;
    return points;
  }
}
