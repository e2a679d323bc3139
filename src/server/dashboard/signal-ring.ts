/** Seconds of signal the dashboard keeps (and shows). */
export const SIGNAL_SECONDS = 10;

/**
 * The last SIGNAL_SECONDS of every channel: one channel-major Float32Array plus a Float64Array of
 * sample times, written in place; `written` counts every sample ever pushed (stable buckets).
 */
export class SignalRing {
  readonly cap: number;
  readonly data: Float32Array;
  readonly time: Float64Array;
  head = 0;
  count = 0;
  written = 0;

  constructor(
    readonly n: number,
    readonly rate: number,
  ) {
    this.cap = Math.max(16, Math.ceil(SIGNAL_SECONDS * rate) + 1);
    this.data = new Float32Array(n * this.cap);
    this.time = new Float64Array(this.cap);
  }

  /** One frame: `rows[c]` holds channel c's samples from `t0` on, at `rate`. */
  push(t0: number, rate: number, rows: readonly (readonly number[])[]): void {
    const { n, cap, data, time } = this;
    const len = rows.length ? rows[0].length : 0;
    const skip = Math.max(0, len - cap);
    let pos = this.head;
    for (let s = skip; s < len; s++) {
      time[pos] = t0 + s / rate;
      if (++pos === cap) pos = 0;
    }
    for (let c = 0; c < n; c++) {
      const row = rows[c];
      const base = c * cap;
      pos = this.head;
      if (!row) continue;
      for (let s = skip; s < len; s++) {
        data[base + pos] = row[s];
        if (++pos === cap) pos = 0;
      }
    }
    const added = len - skip;
    this.head = (this.head + added) % cap;
    this.count = Math.min(cap, this.count + added);
    this.written += added;
  }

  get lastTime(): number {
    return this.count ? this.time[(this.head - 1 + this.cap) % this.cap] : 0;
  }
}
