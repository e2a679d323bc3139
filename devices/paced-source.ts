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

/** Longest delay Node's timers take (a longer one fires after 1 ms, with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function validatePace(pace: Pace): void {
  if (!Number.isInteger(pace.chunkSize) || pace.chunkSize < 1) throw new Error(`chunkSize must be a positive integer, got ${pace.chunkSize}`);
  if (pace.speed !== 'max' && !(typeof pace.speed === 'number' && pace.speed > 0)) {
    throw new Error(`speed must be a positive number or "max", got ${String(pace.speed)}`);
  }
}

/**
 * Turns a producer into a live stream of chunks. In paced mode a chunk is handed over when its last
 * sample would have been acquired, so a chunk never precedes its data and timing does not drift
 * (deadlines are computed from the start, not from the previous tick); the stream completes as
 * soon as the last chunk is out. Any positive rate works: a wait longer than a timer can hold
 * (24.8 days, at 0.001 Hz for instance) is made of several timers, never a busy loop.
 */
export function pacedChunks(info: StreamInfo, produce: Producer, pace: Pace): Observable<Chunk> {
  validatePace(pace);
  const rate = info.sampleRate;
  if (pace.speed !== 'max' && !(rate > 0 && Number.isFinite(rate))) {
    throw new Error(`stream "${info.name}": sample rate must be a positive finite number to pace it, got ${rate}`);
  }
  return new Observable<Chunk>((subscriber) => {
    let emitted = 0;
    let stopped = false;
    let timeout: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const started = performance.now();

    /** The next chunk's content, produced ahead of its deadline in paced mode. */
    let next: Produced | undefined;

    /** Produces the next chunk into `next`; false (and completes) at the end of the stream. */
    const produceNext = (): boolean => {
      next ??= produce(emitted, pace.chunkSize);
      if (next && next.samples > 0) return true;
      subscriber.complete();
      return false;
    };

    /** Emits the next chunk; false at the end of the stream. */
    const emitOne = (): boolean => {
      if (!produceNext()) return false;
      const p = next!;
      next = undefined;
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
      while (!stopped && produceNext()) {
        const due = started + ((emitted + next!.samples) / rate / speed) * 1000;
        const now = performance.now();
        if (due > now) {
          timeout = setTimeout(stepPaced, Math.min(due - now, MAX_TIMER_MS));
          return;
        }
        emitOne();
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
