import { map, type OperatorFunction } from 'rxjs';
import type { Epoch } from './epochs.js';

export interface BaselineOptions {
  /** Time of the epoch's first sample relative to its marker, seconds (the epoching's `tmin`). */
  tmin: number;
  /** Baseline interval relative to the marker, seconds, inclusive: `[from, to]` (e.g. -0.2, 0). */
  from: number;
  to: number;
}

/**
 * Subtracts from every channel its mean over samples `[from, to]` (inclusive) of a sample-major
 * block, in place.
 */
export function subtractBaseline(data: Float32Array, samples: number, channels: number, from: number, to: number): void {
  if (!(from >= 0 && to >= from && to < samples)) throw new Error(`baseline samples [${from}, ${to}] are outside the epoch's 0..${samples - 1}`);
  const n = to - from + 1;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let s = from; s <= to; s++) sum += data[s * channels + c];
    const mean = sum / n;
    for (let s = 0; s < samples; s++) data[s * channels + c] -= mean;
  }
}

/**
 * Baseline correction of marker-locked epochs (MNE's `baseline=(from, to)`): each channel minus its
 * mean over the baseline interval. Each epoch is corrected on its own, so the operator keeps no
 * state between epochs; the epoch's data are corrected in place (epochs own their data).
 */
export function baselineCorrection(opts: BaselineOptions): OperatorFunction<Epoch, Epoch> {
  if (!(opts.to >= opts.from)) throw new Error(`baseline: to (${opts.to} s) must not precede from (${opts.from} s)`);
  if (opts.from < opts.tmin) throw new Error(`baseline: from (${opts.from} s) precedes the epoch start (${opts.tmin} s)`);
  return map((epoch: Epoch) => {
    const rate = epoch.info.sampleRate;
    const start = Math.round(opts.tmin * rate);
    subtractBaseline(epoch.data, epoch.samples, epoch.info.channels.length, Math.round(opts.from * rate) - start, Math.round(opts.to * rate) - start);
    return epoch;
  });
}
