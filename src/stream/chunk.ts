import type { Chunk, ChannelInfo, StreamInfo } from './types.js';
import { sampleTime } from './types.js';

/** A chunk with the same timing and markers as `source` but new data (and possibly channels). */
export function withData(source: Chunk, data: Float32Array, info: StreamInfo = source.info): Chunk {
  const expected = source.samples * info.channels.length;
  if (data.length !== expected) {
    throw new Error(`chunk data has ${data.length} values, expected ${source.samples} samples x ${info.channels.length} channels = ${expected}`);
  }
  return { ...source, info, data };
}

/**
 * Samples `start` (inclusive) to `end` (exclusive) of a chunk, as views (no copy). A cut at the
 * front drops the markers before the first kept sample; a cut at the back drops those after the
 * last kept sample; the side that is not cut keeps its markers (early or late ones included).
 */
export function sliceChunk(chunk: Chunk, start: number, end: number): Chunk {
  const nCh = chunk.info.channels.length;
  const time = start === 0 ? chunk.time : sampleTime(chunk, start);
  const last = end === chunk.samples ? Infinity : sampleTime(chunk, end - 1);
  return {
    ...chunk,
    data: chunk.data.subarray(start * nCh, end * nCh),
    samples: end - start,
    firstSample: chunk.firstSample + start,
    time,
    ...(chunk.timestamps ? { timestamps: chunk.timestamps.subarray(start, end) } : {}),
    markers: chunk.markers.filter((m) => (start === 0 || m.time >= time) && m.time <= last),
  };
}

/** Same stream info with another channel list. */
export function withChannels(info: StreamInfo, channels: readonly ChannelInfo[]): StreamInfo {
  return { ...info, channels };
}

/**
 * Throws when `chunk` does not belong to the stream whose first chunk was `first`: an operator
 * designed for one channel count and rate must not silently process another.
 */
export function assertSameStream(first: StreamInfo, chunk: Chunk, operator: string): void {
  const info = chunk.info;
  if (info.channels.length !== first.channels.length || info.sampleRate !== first.sampleRate) {
    throw new Error(`${operator}: stream changed from ${first.channels.length} channels at ${first.sampleRate} Hz ` + `to ${info.channels.length} channels at ${info.sampleRate} Hz`);
  }
  if (chunk.data.length < chunk.samples * info.channels.length) {
    throw new Error(`${operator}: chunk data has ${chunk.data.length} values, fewer than ${chunk.samples} samples x ${info.channels.length} channels`);
  }
}
