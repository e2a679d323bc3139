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

  /** Queues a marker; `time` is on the stream clock (seconds). */
  push(value: string, time?: number, duration = 0): void {
    if (value.length === 0) throw new Error('marker value must not be empty');
    if (time !== undefined && !Number.isFinite(time)) throw new Error(`marker time must be a finite number of seconds, got ${time}`);
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
    if (this.pending.length === 0) return chunk;
    const end = lastSampleTime(chunk);
    const due: Marker[] = [];
    const later: typeof this.pending = [];
    for (const m of this.pending) {
      if (m.time === undefined) due.push({ value: m.value, time: chunk.time, duration: m.duration });
      else if (m.time <= end) due.push({ value: m.value, time: m.time, duration: m.duration });
      else later.push(m);
    }
    this.pending = later;
    if (due.length === 0) return chunk;
    return { ...chunk, markers: [...chunk.markers, ...due].sort((a, b) => a.time - b.time) };
  }
}
