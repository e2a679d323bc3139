import { Observable } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Chunk, Marker, StreamInfo } from '../src/stream/types.js';

/** Pace of a source that makes its own samples (a file replay, a simulator). */
export interface Pace {
  /** 1 = real time, 10 = ten times faster, "max" = as fast as possible. */
  speed: number | 'max';
  /** Samples per chunk. */
  chunkSize: number;
}

/** The next run of samples of a source: data (sample-major) and the markers within it. */
export interface Produced {
  data: Float32Array;
  samples: number;
  /** Stream time of the first sample. */
  time: number;
  markers: Marker[];
}

/**
 * Asks `produce` for at most `max` samples starting at global index `first`; it returns undefined
 * at the end of the stream.
 */
export type Producer = (first: number, max: number) => Produced | undefined;

/** Chunks handed over per event-loop turn in "max" mode, between which sockets get to flush. */
const MAX_MODE_BATCH = 64;

export function validatePace(pace: Pace): void {
  if (!Number.isInteger(pace.chunkSize) || pace.chunkSize < 1) throw new Error(`chunkSize must be a positive integer, got ${pace.chunkSize}`);
  if (pace.speed !== 'max' && !(typeof pace.speed === 'number' && pace.speed > 0)) {
    throw new Error(`speed must be a positive number or "max", got ${String(pace.speed)}`);
  }
}

/**
 * Turns a producer into a live stream of chunks. In paced mode a chunk is handed over when its last
 * sample would have been acquired, so a chunk never precedes its data and timing does not drift
 * (deadlines are computed from the start, not from the previous tick).
 */
export function pacedChunks(info: StreamInfo, produce: Producer, pace: Pace): Observable<Chunk> {
  validatePace(pace);
  const rate = info.sampleRate;
  return new Observable<Chunk>((subscriber) => {
    let emitted = 0;
    let stopped = false;
    let timeout: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const started = performance.now();

    /** Emits the next chunk; false at the end of the stream. */
    const emitOne = (): boolean => {
      const p = produce(emitted, pace.chunkSize);
      if (!p || p.samples === 0) {
        subscriber.complete();
        return false;
      }
      const chunk: Chunk = {
        info,
        data: p.data,
        samples: p.samples,
        firstSample: emitted,
        time: p.time,
        markers: p.markers,
        receivedAt: performance.now(),
      };
      emitted += p.samples;
      subscriber.next(chunk);
      return true;
    };

    const stepMax = (): void => {
      for (let i = 0; i < MAX_MODE_BATCH; i++) if (stopped || !emitOne()) return;
      if (!stopped) immediate = setImmediate(stepMax);
    };

    const stepPaced = (): void => {
      const speed = pace.speed as number;
      while (!stopped) {
        const due = started + ((emitted + pace.chunkSize) / rate / speed) * 1000;
        const now = performance.now();
        if (due > now) {
          timeout = setTimeout(stepPaced, due - now);
          return;
        }
        if (!emitOne()) return;
      }
    };

    if (pace.speed === 'max') immediate = setImmediate(stepMax);
    else timeout = setTimeout(stepPaced, 0);
    return () => {
      stopped = true;
      if (timeout) clearTimeout(timeout);
      if (immediate) clearImmediate(immediate);
    };
  });
}
