import type { OperatorFunction } from 'rxjs';
import { assertSameStream, withData, withChannels } from '../stream/chunk.js';
import { statefulOperator } from '../stream/stateful-operator.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import { butterworthSos } from './butterworth.js';
import { SosFilter } from './sos-filter.js';

export interface FilterBankBand {
  readonly low: number;
  readonly high: number;
}

/** Label of channel `label` seen through band `b`, e.g. "C3@8-12". */
export function bandChannelLabel(label: string, b: FilterBankBand): string {
  return `${label}@${b.low}-${b.high}`;
}

/**
 * A causal Butterworth filter bank: every input channel is band-passed through each band, and the
 * output stacks the bands as channel blocks (band-major: output channel b·C + c is channel c in
 * band b), labelled "<label>@<low>-<high>". FBCSP reads one block per band. State carries across
 * chunks, as for every filter operator here.
 */
export function filterBank(bands: readonly FilterBankBand[], order = 4): OperatorFunction<Chunk, Chunk> {
  if (bands.length === 0) throw new Error('filter bank: at least one band is needed');
  bands.forEach((b, i) => {
    if (!(b.low > 0 && b.high > b.low)) throw new Error(`filter bank: band ${i} must have 0 < low < high, got ${b.low}-${b.high} Hz`);
  });
  return statefulOperator(() => {
    let first: StreamInfo | undefined;
    let out: StreamInfo | undefined;
    let filters: SosFilter[] = [];
    let scratch = new Float32Array(0);
    return (chunk: Chunk, emit: (c: Chunk) => void) => {
      if (!first || !out) {
        const info = chunk.info;
        filters = bands.map((b) => {
          try {
            return new SosFilter(butterworthSos(order, [b.low, b.high], info.sampleRate, 'bandpass'), info.channels.length);
          } catch (e) {
            throw new Error(`filter bank band ${b.low}-${b.high} Hz at ${info.sampleRate} Hz: ${(e as Error).message}`);
          }
        });
        out = withChannels(
          info,
          bands.flatMap((b) => info.channels.map((c) => ({ ...c, label: bandChannelLabel(c.label, b) }))),
        );
        first = info;
      }
      assertSameStream(first, chunk, 'filterBank');
      const c = first.channels.length;
      const width = c * bands.length;
      if (scratch.length < chunk.samples * c) scratch = new Float32Array(chunk.samples * c);
      const data = new Float32Array(chunk.samples * width);
      for (let b = 0; b < bands.length; b++) {
        filters[b].process(chunk.data, chunk.samples, scratch);
        for (let s = 0; s < chunk.samples; s++) {
          const o = s * width + b * c;
          for (let ch = 0; ch < c; ch++) data[o + ch] = scratch[s * c + ch];
        }
      }
      emit(withData(chunk, data, out));
    };
  });
}
