import type { OperatorFunction } from 'rxjs';
import { statefulOperator } from '../stream/stateful-operator.js';
import { assertSameStream } from '../stream/chunk.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import { sampleTime } from '../stream/types.js';
import { SampleRing } from './sample-ring.js';

/** A fixed-length run of samples cut from a stream. */
export interface Window {
  readonly info: StreamInfo;
  /** `samples * channels` values, sample-major; owned by the receiver (unless `view` was asked). */
  readonly data: Float32Array;
  readonly samples: number;
  /** Global index of the window's first sample. */
  readonly firstSample: number;
  /** Stream time of the window's last sample (seconds). */
  readonly endTime: number;
  /** `receivedAt` of the chunk that completed the window (performance.now() ms). */
  readonly receivedAt: number;
}

export interface WindowOptions {
  /** Window length in seconds. */
  length: number;
  /** Step between window starts in seconds. */
  hop: number;
  /**
   * Emit a view into the internal ring instead of a copy: no allocation per window, but the data
   * is valid only while the window is being handled synchronously (a classifier that reduces it to
   * features at once). Default false.
   */
  view?: boolean;
}

/** Converts seconds to a whole number of samples (at least 1), naming the option when invalid. */
export function secondsToSamples(seconds: number, rate: number, what: string): number {
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`${what} must be a positive number of seconds, got ${seconds}`);
  return Math.max(1, Math.round(seconds * rate));
}

/**
 * Sliding windows of `length` seconds every `hop` seconds. The first window ends at sample
 * `length - 1`; later ones every `hop` samples. Independent of how the input is chunked.
 */
export function slidingWindows(opts: WindowOptions): OperatorFunction<Chunk, Window> {
  return statefulOperator(() => {
    let ring: SampleRing | undefined;
    let first: StreamInfo | undefined;
    let length = 0;
    let hop = 0;
    return (chunk: Chunk, emit: (w: Window) => void) => {
      if (!first) {
        first = chunk.info;
        length = secondsToSamples(opts.length, chunk.info.sampleRate, 'window length');
        hop = secondsToSamples(opts.hop, chunk.info.sampleRate, 'window hop');
        ring = new SampleRing(length, chunk.info.channels.length);
      }
      assertSameStream(first, chunk, 'slidingWindows');
      const r = ring!;
      for (let s = 0; s < chunk.samples; s++) {
        r.pushSample(chunk.data, s);
        const count = r.written;
        if (count >= length && (count - length) % hop === 0) {
          emit({
            info: chunk.info,
            data: opts.view ? r.view(count - length, length) : r.view(count - length, length).slice(),
            samples: length,
            firstSample: chunk.firstSample + s - length + 1,
            endTime: sampleTime(chunk, s),
            receivedAt: chunk.receivedAt,
          });
        }
      }
    };
  });
}
