/**
 * Timestamp smoothing for regular streams (LSL inlets, serial boards), as liblsl's `post_dejitter`
 * (src/time_postprocessor.cpp)
 * does it: a recursive least-squares line through (sample index, timestamp) with exponential
 * forgetting (half-life `halfTime` seconds), so that jitter in when chunks were stamped does not
 * reach the sample times, while slow clock drift still does.
 */
export class Dejitter {
  private readonly lambda: number;
  private p00 = 1e10;
  private p01 = 0;
  private p11 = 1e10;
  private w0 = 0;
  private w1 = 0;
  private started = false;
  private base = 0;
  private origin = 0;

  constructor(
    readonly rate: number,
    halfTime = 90,
  ) {
    this.lambda = Math.pow(2, -1 / (rate * halfTime));
  }

  /** Replaces `timestamps` (of samples firstSample, firstSample+1, ...) with the smoothed line. */
  apply(timestamps: Float64Array, firstSample: number): void {
    for (let i = 0; i < timestamps.length; i++) {
      const k = firstSample + i;
      if (!this.started) {
        this.started = true;
        this.base = timestamps[i];
        this.origin = k;
        this.w0 = 0;
        this.w1 = 1 / this.rate;
      }
      // regress y = t - base on x = [1, k]
      const y = timestamps[i] - this.base;
      const x1 = k - this.origin;
      const px0 = this.p00 + this.p01 * x1;
      const px1 = this.p01 + this.p11 * x1;
      const denom = this.lambda + px0 + x1 * px1;
      const g0 = px0 / denom;
      const g1 = px1 / denom;
      const err = y - (this.w0 + this.w1 * x1);
      this.w0 += g0 * err;
      this.w1 += g1 * err;
      const p00 = (this.p00 - g0 * px0) / this.lambda;
      const p01 = (this.p01 - g0 * px1) / this.lambda;
      const p11 = (this.p11 - g1 * px1) / this.lambda;
      this.p00 = p00;
      this.p01 = p01;
      this.p11 = p11;
      timestamps[i] = this.base + this.w0 + this.w1 * x1;
    }
  }
}
