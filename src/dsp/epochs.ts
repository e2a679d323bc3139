import type { OperatorFunction } from 'rxjs';
import { statefulOperator } from '../stream/stateful-operator.js';
import { assertSameStream } from '../stream/chunk.js';
import type { Chunk, Marker, StreamInfo } from '../stream/types.js';
import { SampleRing } from './sample-ring.js';

/** A stretch of signal locked to a marker, labelled with the marker's class. */
export interface Epoch {
  readonly info: StreamInfo;
  readonly label: string;
  readonly marker: Marker;
  /** `samples * channels` values, sample-major. */
  readonly data: Float32Array;
  readonly samples: number;
  /** Global index of the epoch's first sample. */
  readonly firstSample: number;
}

export interface EpochOptions {
  /** Marker value -> class label (a map, or a function returning undefined to ignore a marker); markers not listed are ignored. */
  events: Readonly<Record<string, string>> | ((value: string) => string | undefined);
  /** Start of the epoch relative to the marker, seconds (may be negative). */
  tmin: number;
  /** End of the epoch relative to the marker, seconds, inclusive (as MNE's Epochs). */
  tmax: number;
}

/** Number of samples in [tmin, tmax] inclusive at `rate`, and the start offset in samples. */
export function epochSpan(opts: Pick<EpochOptions, 'tmin' | 'tmax'>, rate: number): { offset: number; length: number } {
  if (!(opts.tmax > opts.tmin)) throw new Error(`epoch tmax (${opts.tmax}) must be greater than tmin (${opts.tmin})`);
  const offset = Math.round(opts.tmin * rate);
  const length = Math.round(opts.tmax * rate) - offset + 1;
  return { offset, length };
}

interface Pending {
  start: number;
  label: string;
  marker: Marker;
}

/**
 * Cuts marker-locked epochs out of a stream: the marker's sample is `round((marker.time -
 * chunk.time) * rate)` into its chunk, and the epoch spans `round(tmin*rate)` to
 * `round(tmax*rate)` samples from there. An epoch is emitted as soon as its last sample arrives;
 * epochs whose start precedes the stream (or the ring's memory) are skipped.
 */
export function markerEpochs(opts: EpochOptions): OperatorFunction<Chunk, Epoch> {
  return statefulOperator(() => {
    let first: StreamInfo | undefined;
    let ring: SampleRing | undefined;
    let span = { offset: 0, length: 0 };
    const pending: Pending[] = [];
    return (chunk: Chunk, emit: (e: Epoch) => void) => {
      if (!first) {
        first = chunk.info;
        span = epochSpan(opts, chunk.info.sampleRate);
        ring = new SampleRing(span.length + Math.max(0, -span.offset) + 1, chunk.info.channels.length);
      }
      assertSameStream(first, chunk, 'markerEpochs');
      const r = ring!;
      const rate = chunk.info.sampleRate;
      const base = r.written;
      for (const m of chunk.markers) {
        const label = typeof opts.events === 'function' ? opts.events(m.value) : Object.hasOwn(opts.events, m.value) ? opts.events[m.value] : undefined;
        if (label === undefined) continue;
        const at = base + Math.round((m.time - chunk.time) * rate);
        pending.push({ start: at + span.offset, label, marker: m });
      }
      if (pending.length > 1) pending.sort((a, b) => a.start - b.start);
      for (let s = 0; s < chunk.samples; s++) {
        r.pushSample(chunk.data, s);
        while (pending.length > 0 && pending[0].start + span.length <= r.written) {
          const p = pending.shift()!;
          if (p.start < 0 || p.start < r.written - r.capacity) continue;
          emit({
            info: chunk.info,
            label: p.label,
            marker: p.marker,
            data: r.view(p.start, span.length).slice(),
            samples: span.length,
            firstSample: chunk.firstSample - base + p.start,
          });
        }
      }
    };
  });
}
