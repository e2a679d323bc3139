import type { SmoothingSettings } from './control-settings.js';

/**
 * Smooths per-class probabilities across successive decisions, so one noisy window cannot flip
 * the output on its own.
 *
 * - Each input is first renormalised to sum 1 (non-finite or negative values count as 0), so every
 *   decision carries the same weight whatever its scale.
 * - "ema": s_0 = p_0, s_t = alpha * p_t + (1 - alpha) * s_{t-1}.
 * - "mean": the mean of the last `window` inputs (fewer at the start).
 * - "none": the renormalised input.
 * - A class missing from a decision counts as probability 0 there; a class seen for the first time
 *   is taken to have been 0 before, so classes may come and go.
 * - The output holds every class seen since the last reset, renormalised to sum 1 (all 0 when no
 *   input carried any probability).
 *
 * State lives in flat per-class arrays indexed by first appearance; the only allocation per step
 * is the returned record, which belongs to the caller.
 */
export class ProbabilitySmoother {
  private readonly kind: SmoothingSettings['kind'];
  private readonly alpha: number;
  private readonly window: number;
  /** Class labels in order of first appearance; `index` maps them back. */
  private readonly labels: string[] = [];
  private readonly index = new Map<string, number>();
  /** This step's normalised input per class (scratch, reused). */
  private readonly input: number[] = [];
  /** EMA state per class. */
  private readonly ema: number[] = [];
  /** Ring of the last `window` inputs per class (mean). */
  private readonly ring: Float64Array[] = [];
  private head = 0;
  /** Inputs since the last reset. */
  private count = 0;

  constructor(settings: SmoothingSettings) {
    this.kind = settings.kind;
    this.alpha = settings.alpha;
    this.window = settings.window;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`smoothing.alpha must be in (0, 1], got ${this.alpha}`);
    if (!(Number.isInteger(this.window) && this.window >= 1)) throw new RangeError(`smoothing.window must be an integer >= 1, got ${this.window}`);
  }

  /** Forgets every past decision (and class), as if newly constructed. */
  reset(): void {
    this.labels.length = 0;
    this.index.clear();
    this.input.length = 0;
    this.ema.length = 0;
    this.ring.length = 0;
    this.head = 0;
    this.count = 0;
  }

  /** Adds one decision's probabilities and returns the smoothed, renormalised probabilities. */
  smooth(probabilities: Readonly<Record<string, number>>): Record<string, number> {
    const input = this.input;
    input.fill(0);
    let total = 0;
    for (const label in probabilities) {
      if (!Object.hasOwn(probabilities, label)) continue;
      const k = this.classIndex(label);
      const v = probabilities[label];
      // Bad values must not poison the running state (a NaN would stick in the EMA forever).
      const clean = Number.isFinite(v) && v > 0 ? v : 0;
      input[k] = clean;
      total += clean;
    }
    if (total > 0) for (let k = 0; k < input.length; k++) input[k] /= total;

    const n = this.labels.length;
    const out: Record<string, number> = {};
    let sum = 0;
    if (this.kind === 'ema') {
      const a = this.alpha;
      for (let k = 0; k < n; k++) {
        this.ema[k] = this.count === 0 ? input[k] : a * input[k] + (1 - a) * this.ema[k];
        sum += this.ema[k];
      }
      for (let k = 0; k < n; k++) out[this.labels[k]] = sum > 0 ? this.ema[k] / sum : 0;
    } else if (this.kind === 'mean') {
      const used = Math.min(this.count + 1, this.window);
      for (let k = 0; k < n; k++) {
        const r = this.ring[k];
        r[this.head] = input[k];
        // Summing the few entries afresh (rather than keeping a running sum) avoids drift.
        let s = 0;
        for (let j = 0; j < used; j++) s += r[(this.head - j + this.window) % this.window];
        input[k] = s / used; // reuse the scratch for the mean
        sum += input[k];
      }
      this.head = (this.head + 1) % this.window;
      for (let k = 0; k < n; k++) out[this.labels[k]] = sum > 0 ? input[k] / sum : 0;
    } else {
      for (let k = 0; k < n; k++) out[this.labels[k]] = input[k];
    }
    this.count++;
    return out;
  }

  private classIndex(label: string): number {
    let k = this.index.get(label);
    if (k === undefined) {
      k = this.labels.length;
      this.labels.push(label);
      this.index.set(label, k);
      this.input.push(0);
      this.ema.push(0); // a new class was 0 in every earlier decision
      this.ring.push(new Float64Array(this.window)); // likewise zeros in the ring
    }
    return k;
  }
}
