import type { OperatorFunction } from 'rxjs';
import { map } from 'rxjs';
import type { Chunk, Marker } from './types.js';
import { lastSampleTime } from './types.js';

/**
 * Puts markers that arrive from outside the signal (a game's cues over WebSocket, a cue
 * generator) into the chunk stream, so that epoching sees them exactly like markers recorded
 * with the signal. A marker without a time is stamped with the first sample of the next chunk;
 * a marker with a time goes into the chunk whose span covers it, or the next chunk when that
 * time has already passed (its time is then kept, so epochs still start where it says).
 */
export class MarkerInjector {
  private pending: { value: string; time?: number; duration: number }[] = [];
  /** Time of the last sample seen, once a chunk has passed. */
  private streamTime: number | undefined;

  /**
   * @param maxPending markers waiting for their chunk at most (clients add to this queue)
   * @param maxAheadSeconds how far past the last sample seen a marker's time may lie
   * @param onDiscard told of a marker queued before the stream began that turned out too far ahead
   */
  constructor(
    readonly maxPending = 1024,
    readonly maxAheadSeconds = 60,
    private readonly onDiscard: (why: string) => void = () => {},
  ) {}

  /** Queues a marker; `time` is on the stream clock (seconds). Throws (queueing nothing) when a limit is passed. */
  push(value: string, time?: number, duration = 0): void {
    if (value.length === 0) throw new Error('marker value must not be empty');
    if (time !== undefined && !Number.isFinite(time)) throw new Error(`marker time must be a finite number of seconds, got ${time}`);
    if (time !== undefined && this.streamTime !== undefined && time > this.streamTime + this.maxAheadSeconds) {
      throw new Error(`marker time ${time} s is more than ${this.maxAheadSeconds} s ahead of the stream (now at ${this.streamTime.toFixed(3)} s)`);
    }
    if (this.pending.length >= this.maxPending)
      throw new Error(`${this.pending.length} markers are already waiting for their samples (at most ${this.maxPending}): marker "${value.slice(0, 40)}" refused`);
    this.pending.push({ value, time, duration });
  }

  get queued(): number {
    return this.pending.length;
  }

  operator(): OperatorFunction<Chunk, Chunk> {
    return map((chunk) => this.inject(chunk));
  }

  /** The chunk with every marker now due added to its markers (the chunk itself when none is). */
  inject(chunk: Chunk): Chunk {
    const end = lastSampleTime(chunk);
    if (chunk.samples > 0) this.streamTime = end;
    if (this.pending.length === 0) return chunk;
    const due: Marker[] = [];
    const later: typeof this.pending = [];
    for (const m of this.pending) {
      if (m.time !== undefined && m.time > end + this.maxAheadSeconds)
        this.onDiscard(`marker "${m.value.slice(0, 40)}" at ${m.time} s discarded: more than ${this.maxAheadSeconds} s ahead of the stream (at ${end.toFixed(3)} s)`);
      else if (m.time === undefined) due.push({ value: m.value, time: chunk.time, duration: m.duration });
      else if (m.time <= end) due.push({ value: m.value, time: m.time, duration: m.duration });
      else later.push(m);
    }
    this.pending = later;
    if (due.length === 0) return chunk;
    return { ...chunk, markers: [...chunk.markers, ...due].sort((a, b) => a.time - b.time) };
  }
}
