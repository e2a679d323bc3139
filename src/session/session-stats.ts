import type { Chunk } from '../stream/types.js';

/**
 * Counters for the `stats` message: decisions and their latencies over the last second, and the
 * samples the source lost (gaps in `firstSample` between consecutive chunks).
 */
export class SessionStats {
  private latencies: number[] = [];
  private nextSample: number | undefined;
  samplesDropped = 0;

  chunk(chunk: Chunk): void {
    if (this.nextSample !== undefined && chunk.firstSample > this.nextSample) this.samplesDropped += chunk.firstSample - this.nextSample;
    this.nextSample = chunk.firstSample + chunk.samples;
  }

  decision(latencyMs: number): void {
    this.latencies.push(latencyMs);
  }

  /** The last second's figures; starts the next second. */
  takeSecond(): { decisionsPerSecond: number; latencyMs: { p50: number; p99: number }; samplesDropped: number } {
    const sorted = this.latencies.sort((a, b) => a - b);
    this.latencies = [];
    const q = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
    return { decisionsPerSecond: sorted.length, latencyMs: { p50: q(0.5), p99: q(0.99) }, samplesDropped: this.samplesDropped };
  }
}
