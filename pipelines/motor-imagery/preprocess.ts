import { identity, type OperatorFunction } from 'rxjs';
import { commonAverageReference } from '../../src/dsp/common-average-reference.js';
import { filterBank } from '../../src/dsp/filter-bank.js';
import { bandpass, notch } from '../../src/dsp/filter-operators.js';
import { pickChannels } from '../../src/dsp/pick-channels.js';
import type { DecoderSpec } from '../../src/ml/decoders/decoder-spec.js';
import type { Chunk } from '../../src/stream/types.js';
import type { ModelFile } from './model.js';

export type Preprocessing = ModelFile['preprocessing'];

/**
 * The motor-imagery front end, causal and stateful across chunks: channel selection, optional
 * common average reference, optional mains notch, then the Butterworth band-pass that keeps the
 * mu and beta rhythms, or, for filter-bank decoders, the filter bank in its place.
 */
export function preprocess(channels: readonly string[], p: Preprocessing): OperatorFunction<Chunk, Chunk> {
  const steps: OperatorFunction<Chunk, Chunk>[] = [
    pickChannels({ labels: channels }),
    p.reference === 'average' ? commonAverageReference() : identity,
    p.notch ? notch({ freq: p.notch.freq, q: p.notch.q }) : identity,
    p.filterBank ? filterBank(p.filterBank.bands, p.filterBank.order) : bandpass({ low: p.bandpass.low, high: p.bandpass.high, order: p.bandpass.order }),
  ];
  return (source) => steps.reduce((s, op) => s.pipe(op), source);
}

/** The preprocessing a decoder needs: the base chain, with FBCSP's filter bank when it is one. */
export function preprocessingFor(spec: DecoderSpec, base: Omit<Preprocessing, 'filterBank'>): Preprocessing {
  return { ...base, filterBank: spec.kind === 'fbcsp' ? { bands: spec.bands, order: spec.order } : null };
}
