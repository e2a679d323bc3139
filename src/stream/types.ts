/**
 * The stream model: what flows between every stage of a neurorx pipeline.
 *
 * Memory layout: a chunk's samples are one Float32Array in **sample-major (interleaved)** order,
 * `data[s * channelCount + c]` is channel `c` of sample `s`. We chose it because
 * - every live source produces data that way (an LSL chunk, a serial packet, a row of a CSV), so
 *   ingest is a plain copy with no transposition;
 * - a run of consecutive samples is one contiguous sub-array, so windows and ring buffers append and
 *   slice along time with a single `set`/`subarray`, and a chunk of one sample is natural;
 * - causal filters step through time with all channels' states side by side, which walks memory
 *   linearly.
 * Stages that prefer channel-major data (covariances, CSP) transpose once per window.
 *
 * Units: EEG/EOG/EMG channels are in microvolts ("uV") unless `unit` says otherwise.
 * Times are in seconds on the stream's own clock (file replay: seconds since recording start;
 * live sources: the source's clock, e.g. LSL's local_clock).
 */

export type ChannelType = 'eeg' | 'meg' | 'mag' | 'grad' | 'eog' | 'emg' | 'ecg' | 'stim' | 'resp' | 'misc';

export interface ChannelInfo {
  /** Channel label as the source names it, e.g. "C3". */
  readonly label: string;
  readonly type: ChannelType;
  /** Physical unit of the values in `Chunk.data`, e.g. "uV". */
  readonly unit: string;
}

export interface StreamInfo {
  readonly name: string;
  /** Content type, LSL style: "EEG", "MEG", "Markers", ... */
  readonly type: string;
  /** Stable identifier of the source (device serial, file path, generator seed). */
  readonly sourceId: string;
  readonly channels: readonly ChannelInfo[];
  /** Nominal sampling rate in Hz; 0 for irregular streams. */
  readonly sampleRate: number;
}

/** An event on the stream's clock: a cue, a stimulus onset, an annotation. */
export interface Marker {
  /** Seconds on the stream clock. */
  readonly time: number;
  /** The event's label, e.g. "T1" or "left". */
  readonly value: string;
  /** Duration in seconds (0 for instantaneous events). */
  readonly duration: number;
}

export interface Chunk {
  readonly info: StreamInfo;
  /** `samples * info.channels.length` values, sample-major. */
  readonly data: Float32Array;
  readonly samples: number;
  /** Index of this chunk's first sample since the stream began; gaps reveal dropped samples. */
  readonly firstSample: number;
  /** Stream time of the first sample, in seconds. */
  readonly time: number;
  /**
   * Per-sample times in seconds (length `samples`) when the source has them (irregular or jittery
   * clocks); otherwise undefined and sample `s` is at `time + s / sampleRate`.
   */
  readonly timestamps?: Float64Array;
  /** Markers whose time falls within this chunk's span, in time order. */
  readonly markers: readonly Marker[];
  /**
   * Monotonic wall-clock time (performance.now(), ms) at which the source handed the chunk to the
   * pipeline; used to measure processing latency.
   */
  readonly receivedAt: number;
}

/** Time of sample `s` of `chunk`. */
export function sampleTime(chunk: Chunk, s: number): number {
  if (chunk.timestamps) return chunk.timestamps[s];
  return chunk.time + s / chunk.info.sampleRate;
}

/** Time of the last sample of `chunk`. */
export function lastSampleTime(chunk: Chunk): number {
  return sampleTime(chunk, chunk.samples - 1);
}

export function channelCount(info: StreamInfo): number {
  return info.channels.length;
}

/** A sensor's 2-D layout position (x to the right, y to the nose), unit-free, roughly in [-1, 1]. */
export interface SensorPosition {
  readonly x: number;
  readonly y: number;
}
