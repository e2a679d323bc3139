import { map, type OperatorFunction } from 'rxjs';
import { withChannels } from '../stream/chunk.js';
import type { Chunk, ChannelType, StreamInfo } from '../stream/types.js';
import { findChannels } from './channel-match.js';

export interface PickOptions {
  /** Channel labels to keep, in this order (labels match loosely, see normaliseLabel). */
  labels?: readonly string[];
  /** Channel types to keep (applied when `labels` is not given). */
  types?: readonly ChannelType[];
}

/** Indices of the channels `opts` selects from `info`; throws naming what is missing. */
export function resolvePick(info: StreamInfo, opts: PickOptions): number[] {
  if (opts.labels && opts.labels.length > 0) {
    return findChannels(
      info.channels.map((c) => c.label),
      opts.labels,
    );
  }
  if (opts.types && opts.types.length > 0) {
    const idx = info.channels.flatMap((c, i) => (opts.types!.includes(c.type) ? [i] : []));
    if (idx.length === 0) throw new Error(`no channel of type ${opts.types.join('/')} in stream "${info.name}"`);
    return idx;
  }
  return info.channels.map((_, i) => i);
}

/** Copies the picked channels of interleaved `src` into `dst`. */
export function gatherChannels(src: Float32Array, srcChannels: number, samples: number, picks: readonly number[], dst: Float32Array): void {
  const n = picks.length;
  for (let s = 0; s < samples; s++) {
    const so = s * srcChannels;
    const d = s * n;
    for (let k = 0; k < n; k++) dst[d + k] = src[so + picks[k]];
  }
}

/** Keeps the selected channels, in the selected order. */
export function pickChannels(opts: PickOptions): OperatorFunction<Chunk, Chunk> {
  return (source) => {
    let picks: number[] | undefined;
    let info: StreamInfo | undefined;
    let from: StreamInfo | undefined;
    return source.pipe(
      map((chunk) => {
        if (from !== chunk.info) {
          picks = resolvePick(chunk.info, opts);
          info = withChannels(
            chunk.info,
            picks.map((i) => chunk.info.channels[i]),
          );
          from = chunk.info;
        }
        const data = new Float32Array(chunk.samples * picks!.length);
        gatherChannels(chunk.data, chunk.info.channels.length, chunk.samples, picks!, data);
        return { ...chunk, info: info!, data };
      }),
    );
  };
}
