/**
 * The last `capacity` multichannel samples of a stream, written twice (at `i` and `i + capacity`)
 * so that any run of the most recent samples is one contiguous, copy-free sub-array.
 * Samples are addressed by their global index since the stream began.
 */
export class SampleRing {
  private readonly buf: Float32Array;
  /** Global index of the next sample to be written. */
  private next = 0;

  constructor(
    readonly capacity: number,
    readonly channels: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, got ${capacity}`);
    this.buf = new Float32Array(2 * capacity * channels);
  }

  /** Global index of the next sample to be written (= samples written so far). */
  get written(): number {
    return this.next;
  }

  /** Appends sample `s` of interleaved `src` (which has the ring's channel count). */
  pushSample(src: Float32Array, s: number): void {
    const n = this.channels;
    const slot = (this.next % this.capacity) * n;
    const from = s * n;
    for (let c = 0; c < n; c++) {
      const v = src[from + c];
      this.buf[slot + c] = v;
      this.buf[slot + this.capacity * n + c] = v;
    }
    this.next++;
  }

  /**
   * `count` samples starting at global index `start`, as a view valid until the next write.
   * Throws when they are not all in the ring.
   */
  view(start: number, count: number): Float32Array {
    if (count > this.capacity || start < this.next - this.capacity || start + count > this.next || start < 0) {
      throw new Error(`samples ${start}..${start + count - 1} not in ring (holds ${Math.max(0, this.next - this.capacity)}..${this.next - 1})`);
    }
    const n = this.channels;
    const slot = (start % this.capacity) * n;
    return this.buf.subarray(slot, slot + count * n);
  }
}
