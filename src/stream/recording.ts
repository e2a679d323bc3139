import type { Gap } from './losses.js';
import type { Marker, StreamInfo } from './types.js';

/**
 * A whole recording held in memory: what file readers and the synthetic generators produce and
 * what replay turns back into a live stream of chunks.
 */
export interface Recording {
  readonly info: StreamInfo;
  /** `samples * channels` values, sample-major (see types.ts). */
  readonly data: Float32Array;
  readonly samples: number;
  /** Markers in time order; times in seconds since the first sample. */
  readonly markers: readonly Marker[];
  /** Wall-clock start of the recording when the file states it. */
  readonly startDate?: Date;
  /** What the reader skipped, repaired or could not read (each names the byte or field). */
  readonly warnings?: readonly string[];
  /** Stretches of signal the file lacks (a truncated file, acquisition skips), on the recording's clock. */
  readonly gaps?: readonly Gap[];
}
