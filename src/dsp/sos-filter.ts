/**
 * Causal IIR filtering with a cascade of second-order sections, state carried across calls so a
 * stream can be filtered chunk by chunk with exactly the output of filtering it whole.
 *
 * Each section is a transposed direct form II biquad, computed in the same order as SciPy's
 * `sosfilt` (float64 arithmetic; the output is rounded to float32 once, at the end of the cascade):
 *
 *     y      = b0·x + z0
 *     z0     = b1·x − a1·y + z1
 *     z1     = b2·x − a2·y
 */
export class SosFilter {
  readonly channelCount: number;
  readonly sectionCount: number;
  /** Per section [b0, b1, b2, a1, a2], normalised so that a0 = 1. */
  private readonly coefficients: Float64Array;
  /** Per channel, per section: [z0, z1]; index (channel * sectionCount + section) * 2. */
  private readonly state: Float64Array;

  /**
   * @param sos `nSections * 6` coefficients, rows `[b0, b1, b2, a0, a1, a2]` (as from
   *   butterworthSos / notchSos / scipy); rows with a0 ≠ 1 are normalised.
   * @param channelCount channels per sample in the interleaved data this filter will see.
   */
  constructor(sos: Float64Array, channelCount: number) {
    if (sos.length === 0 || sos.length % 6 !== 0) {
      throw new Error(`sos must hold a positive multiple of 6 coefficients (got ${sos.length})`);
    }
    if (!Number.isInteger(channelCount) || channelCount < 1) {
      throw new Error(`channelCount must be a positive integer (got ${String(channelCount)})`);
    }
    this.channelCount = channelCount;
    this.sectionCount = sos.length / 6;
    this.coefficients = new Float64Array(this.sectionCount * 5);
    for (let s = 0; s < this.sectionCount; s++) {
      const a0 = sos[s * 6 + 3];
      if (!Number.isFinite(a0) || a0 === 0) throw new Error(`sos section ${s}: a0 must be non-zero (got ${a0})`);
      for (let i = 0; i < 3; i++) this.coefficients[s * 5 + i] = sos[s * 6 + i] / a0;
      this.coefficients[s * 5 + 3] = sos[s * 6 + 4] / a0;
      this.coefficients[s * 5 + 4] = sos[s * 6 + 5] / a0;
    }
    for (const v of this.coefficients) if (!Number.isFinite(v)) throw new Error('sos coefficients must be finite');
    this.state = new Float64Array(channelCount * this.sectionCount * 2);
  }

  /**
   * Filters `samples` samples of sample-major interleaved data (`input[s * channelCount + c]`).
   * `output` may be `input` itself (in place); when given, nothing is allocated.
   * Returns the array written to.
   */
  process(input: Float32Array, samples: number, output?: Float32Array): Float32Array {
    const nCh = this.channelCount;
    const n = samples * nCh;
    if (!Number.isInteger(samples) || samples < 0) throw new Error(`samples must be a non-negative integer (got ${samples})`);
    if (input.length < n) throw new Error(`input has ${input.length} values, fewer than ${samples} samples x ${nCh} channels`);
    const out = output ?? new Float32Array(n);
    if (out.length < n) throw new Error(`output has ${out.length} values, fewer than ${samples} samples x ${nCh} channels`);
    const co = this.coefficients;
    const z = this.state;
    const nSec = this.sectionCount;
    const stride = nSec * 2;
    for (let s = 0; s < samples; s++) {
      const base = s * nCh;
      for (let c = 0; c < nCh; c++) {
        let x = input[base + c];
        let zi = c * stride;
        let ci = 0;
        for (let k = 0; k < nSec; k++) {
          const y = co[ci] * x + z[zi];
          z[zi] = co[ci + 1] * x - co[ci + 3] * y + z[zi + 1];
          z[zi + 1] = co[ci + 2] * x - co[ci + 4] * y;
          x = y;
          ci += 5;
          zi += 2;
        }
        out[base + c] = x;
      }
    }
    return out;
  }

  /** Zero state: the filter behaves as if the stream started with silence. */
  reset(): void {
    this.state.fill(0);
  }

  /**
   * Sets the state to the steady state for a constant input equal to `firstSample` (one value per
   * channel), like `scipy.signal.sosfilt_zi(sos) * x[0]`: a stream that starts at a large offset
   * then produces no start-up transient. Call before the first `process`.
   */
  initSteadyState(firstSample: ArrayLike<number>): void {
    const nCh = this.channelCount;
    if (firstSample.length !== nCh) {
      throw new Error(`firstSample has ${firstSample.length} values, expected one per channel (${nCh})`);
    }
    const co = this.coefficients;
    const nSec = this.sectionCount;
    for (let c = 0; c < nCh; c++) {
      // Input level reaching the current section: the first sample times the DC gains before it.
      let level = firstSample[c];
      for (let k = 0; k < nSec; k++) {
        const b0 = co[k * 5];
        const b1 = co[k * 5 + 1];
        const b2 = co[k * 5 + 2];
        const a1 = co[k * 5 + 3];
        const a2 = co[k * 5 + 4];
        const denominator = 1 + a1 + a2;
        if (denominator === 0) throw new Error(`initSteadyState: section ${k} has a pole at DC, no steady state`);
        const gain = (b0 + b1 + b2) / denominator;
        const y = gain * level;
        const zi = (c * nSec + k) * 2;
        this.state[zi + 1] = b2 * level - a2 * y;
        this.state[zi] = b1 * level - a1 * y + this.state[zi + 1];
        level = y;
      }
    }
  }
}
