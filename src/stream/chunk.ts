import type { Chunk, ChannelInfo, StreamInfo } from './types.js';

/** A chunk with the same timing and markers as `source` but new data (and possibly channels). */
export function withData(source: Chunk, data: Float32Array, info: StreamInfo = source.info): Chunk {
  const expected = source.samples * info.channels.length;
  if (data.length !== expected) {
    throw new Error(`chunk data has ${data.length} values, expected ${source.samples} samples x ${info.channels.length} channels = ${expected}`);
  }
  return { ...source, info, data };
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
    throw new Error(
      `${operator}: stream changed from ${first.channels.length} channels at ${first.sampleRate} Hz ` +
        `to ${info.channels.length} channels at ${info.sampleRate} Hz`,
    );
  }
  if (chunk.data.length < chunk.samples * info.channels.length) {
    throw new Error(`${operator}: chunk data has ${chunk.data.length} values, fewer than ${chunk.samples} samples x ${info.channels.length} channels`);
  }
}
