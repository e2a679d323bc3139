import type { OperatorFunction } from 'rxjs';
import { assertSameStream } from '../stream/chunk.js';
import { statefulOperator } from '../stream/stateful-operator.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import { butterworthSos } from './butterworth.js';
import { SosFilter } from './sos-filter.js';

export interface DecimateOptions {
  /** Keep one sample in `factor` (an integer >= 1; 1 passes the stream through). */
  factor: number;
  /** Order of the Butterworth anti-alias low-pass (default 8). */
  order?: number;
  /**
   * Cut-off of the anti-alias low-pass as a share of the new Nyquist frequency (default 0.8, as
   * SciPy's `decimate` uses for its IIR filter).
   */
  cutoff?: number;
}

/**
 * Causal downsampling by an integer factor: a Butterworth low-pass below the new Nyquist frequency,
 * then every `factor`-th sample of the stream (global sample indices 0, factor, 2·factor, ...,
 * whatever the chunking). The output's rate is `rate / factor`; its `firstSample` counts output
 * samples; markers pass through with their times (those of a chunk that keeps no sample go with
 * the next output chunk). Filter state and the sample phase carry across chunks.
 */
export function decimate(opts: DecimateOptions): OperatorFunction<Chunk, Chunk> {
  const { factor } = opts;
  const order = opts.order ?? 8;
  const cutoff = opts.cutoff ?? 0.8;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`decimate: factor must be an integer >= 1, got ${String(factor)}`);
  if (!(cutoff > 0 && cutoff < 1)) throw new Error(`decimate: cutoff must be in (0, 1) of the new Nyquist frequency, got ${String(cutoff)}`);
  return statefulOperator(() => {
    let first: StreamInfo | undefined;
    let out: StreamInfo | undefined;
    let filter: SosFilter | undefined;
    let filtered = new Float32Array(0);
    /** Global index of the next input sample. */
    let next = 0;
    /** Markers of chunks that kept no sample, handed on with the next chunk that does. */
    let carried: Chunk['markers'] = [];
    return (chunk: Chunk, emit: (c: Chunk) => void) => {
      if (!first) {
        first = chunk.info;
        if (!(first.sampleRate > 0)) throw new Error(`decimate: the stream needs a positive sample rate (got ${first.sampleRate})`);
        out = { ...first, sampleRate: first.sampleRate / factor };
        if (factor > 1) filter = new SosFilter(butterworthSos(order, (cutoff * first.sampleRate) / (2 * factor), first.sampleRate, 'lowpass'), first.channels.length);
        next = chunk.firstSample;
      }
      assertSameStream(first, chunk, 'decimate');
      if (factor === 1) return emit({ ...chunk, info: out! });
      const nCh = first.channels.length;
      if (filtered.length < chunk.samples * nCh) filtered = new Float32Array(chunk.samples * nCh);
      filter!.process(chunk.data, chunk.samples, filtered);
      // The first kept sample of this chunk: the next global index that is a multiple of factor.
      const skip = (factor - (next % factor)) % factor;
      const kept = skip >= chunk.samples ? 0 : Math.floor((chunk.samples - 1 - skip) / factor) + 1;
      const data = new Float32Array(kept * nCh);
      for (let k = 0; k < kept; k++) data.set(filtered.subarray((skip + k * factor) * nCh, (skip + k * factor + 1) * nCh), k * nCh);
      const firstOut = (next + skip) / factor;
      next += chunk.samples;
      const markers = carried.length > 0 ? [...carried, ...chunk.markers] : chunk.markers;
      if (kept === 0) {
        carried = markers;
        return;
      }
      carried = [];
      const timestamps = chunk.timestamps ? Float64Array.from({ length: kept }, (_, k) => chunk.timestamps![skip + k * factor]) : undefined;
      emit({
        info: out!,
        data,
        samples: kept,
        firstSample: firstOut,
        time: chunk.timestamps ? chunk.timestamps[skip] : chunk.time + skip / first.sampleRate,
        ...(timestamps ? { timestamps } : {}),
        markers,
        receivedAt: chunk.receivedAt,
      });
    };
  });
}
