import type { Probabilities } from '../../client/protocol-types.js';

/** Decisions (or emotion estimates) kept for the probability chart. */
export const PROB_CAPACITY = 2048;

/** Per class, the probabilities (and the smoothed ones) of the last PROB_CAPACITY decisions, with their times. */
export class ProbabilityRing {
  readonly t = new Float64Array(PROB_CAPACITY);
  p: Float32Array[] = [];
  s: Float32Array[] = [];
  head = 0;
  count = 0;

  /** Empties the ring and sizes it for this many classes. */
  reset(classes: number): void {
    this.p = Array.from({ length: classes }, () => new Float32Array(PROB_CAPACITY));
    this.s = Array.from({ length: classes }, () => new Float32Array(PROB_CAPACITY));
    this.head = this.count = 0;
  }

  /** One decision; time running back by more than a second (a replay looping) starts over. */
  push(t: number, classes: readonly string[], probs: Probabilities, smoothed: Probabilities | undefined): void {
    if (this.p.length !== classes.length) this.reset(classes.length);
    if (this.count && t < this.lastTime - 1) this.head = this.count = 0;
    const at = this.head;
    this.t[at] = t;
    const shown = smoothed ?? probs;
    for (let i = 0; i < classes.length; i++) {
      this.p[i][at] = probs[classes[i]] ?? 0;
      this.s[i][at] = shown[classes[i]] ?? 0;
    }
    this.head = (at + 1) % PROB_CAPACITY;
    this.count = Math.min(PROB_CAPACITY, this.count + 1);
  }

  get lastTime(): number {
    return this.t[(this.head - 1 + PROB_CAPACITY) % PROB_CAPACITY];
  }
}
