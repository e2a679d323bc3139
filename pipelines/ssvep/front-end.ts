import { identity, type OperatorFunction } from 'rxjs';
import { filterBank, type FilterBankBand } from '../../src/dsp/filter-bank.js';
import { bandpass, notch } from '../../src/dsp/filter-operators.js';
import { pickChannels } from '../../src/dsp/pick-channels.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import type { SsvepSettings } from './settings.js';

type FrontEndSettings = Pick<SsvepSettings, 'notch' | 'bandpass' | 'decoder' | 'targets'>;

/**
 * The SSVEP front end, causal and stateful across chunks (so chunking does not change a sample):
 * channel selection, optional mains notch, then the band-pass, or for FBCCA the filter bank in its
 * place (its sub-bands stacked as channel blocks).
 */
export function ssvepFrontEnd(channels: readonly string[], s: FrontEndSettings): OperatorFunction<Chunk, Chunk> {
  const steps: OperatorFunction<Chunk, Chunk>[] = [
    pickChannels({ labels: channels }),
    s.notch ? notch({ freq: s.notch.freq, q: s.notch.q }) : identity,
    s.decoder.kind === 'fbcca' ? filterBank(fbccaBands(s), s.bandpass.order) : bandpass(s.bandpass),
  ];
  return (source) => steps.reduce((out, op) => out.pipe(op), source);
}

/**
 * FBCCA's sub-bands: the configured ones, or n·f_min − 2 Hz up to the band-pass's upper edge for
 * n = 1..subBands (f_min the lowest target frequency): band n starts just below the n-th harmonic
 * of the slowest target, so the upper bands hold the higher harmonics only.
 */
export function fbccaBands(s: FrontEndSettings): FilterBankBand[] {
  if (s.decoder.kind !== 'fbcca') return [];
  if (s.decoder.bands) return s.decoder.bands;
  const fMin = Math.min(...s.targets.map((t) => t.frequency));
  const bands: FilterBankBand[] = [];
  for (let n = 1; n <= s.decoder.subBands; n++) {
    const low = Math.max(1, n * fMin - 2);
    if (low >= s.bandpass.high) break;
    bands.push({ low, high: s.bandpass.high });
  }
  return bands;
}

/** The channels a pipeline uses: the configured ones, or every EEG channel of the stream. */
export function resolveChannels(info: StreamInfo, configured: readonly string[] | undefined): string[] {
  if (configured && configured.length > 0) return [...configured];
  const eeg = info.channels.filter((c) => c.type === 'eeg').map((c) => c.label);
  if (eeg.length < 1) throw new Error(`stream "${info.name}" has no EEG channel; set "channels"`);
  return eeg;
}
