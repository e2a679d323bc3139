import { firstValueFrom, from, map, toArray, type OperatorFunction } from 'rxjs';
import { markerEpochs, epochSpan, type Epoch } from '../../src/dsp/epochs.js';
import { bandpass } from '../../src/dsp/filter-operators.js';
import { pickChannels } from '../../src/dsp/pick-channels.js';
import type { Recording } from '../../src/stream/recording.js';
import type { Chunk } from '../../src/stream/types.js';
import { recordingChunk } from '../motor-imagery/calibrate.js';
import type { ErpPreprocessing } from './settings.js';

/** One flash, ready for a decoder: the post-stimulus part (0..tmax), baseline-corrected, or rejected. */
export interface FlashEpoch {
  readonly marker: string;
  /** Stream time of the flash. */
  readonly time: number;
  readonly label: string;
  /** `samples x channels` from the flash on, sample-major. */
  readonly data: Float32Array;
  readonly samples: number;
  /** Exceeded the amplitude limit: not scored, not trained on. */
  readonly rejected: boolean;
  /** When the chunk completing the epoch reached neurorx (performance.now()). */
  readonly receivedAt: number;
}

/** The streaming front end: channel pick and causal band-pass (state carried across chunks, so chunking does not matter). */
export function erpFilter(channels: readonly string[], p: ErpPreprocessing): OperatorFunction<Chunk, Chunk> {
  return (source) => source.pipe(pickChannels({ labels: channels }), bandpass(p.bandpass));
}

/** Cuts flash epochs from a filtered stream: label = `labelOf(marker value)` (undefined: not a flash). */
export function flashEpochs(p: ErpPreprocessing, labelOf: (value: string) => string | undefined, receivedAt: () => number = () => 0): OperatorFunction<Chunk, FlashEpoch> {
  return (source) =>
    source.pipe(
      markerEpochs({ events: labelOf, tmin: p.epoch.tmin, tmax: p.epoch.tmax }),
      map((e) => prepareFlash(e, p, receivedAt())),
    );
}

/** Baseline correction (tmin..0), the amplitude check, and the cut to the post-stimulus part. */
export function prepareFlash(e: Epoch, p: ErpPreprocessing, receivedAt: number): FlashEpoch {
  const c = e.info.channels.length;
  const onset = -epochSpan(p.epoch, e.info.sampleRate).offset;
  const samples = e.samples - onset;
  const out = new Float32Array(samples * c);
  const base = new Float64Array(c);
  if (p.baseline && onset > 0) {
    for (let s = 0; s < onset; s++) for (let j = 0; j < c; j++) base[j] += e.data[s * c + j];
    for (let j = 0; j < c; j++) base[j] /= onset;
  }
  let rejected = false;
  for (let s = 0; s < e.samples; s++) {
    for (let j = 0; j < c; j++) {
      const v = e.data[s * c + j] - base[j];
      if (p.reject !== null && Math.abs(v) > p.reject) rejected = true;
      if (s >= onset) out[(s - onset) * c + j] = v;
    }
  }
  return { marker: e.marker.value, time: e.marker.time, label: e.label, data: out, samples, rejected, receivedAt };
}

/** A whole recording's flashes, through the same streaming operators (filters start from rest). */
export async function flashesOfRecording(rec: Recording, channels: readonly string[], p: ErpPreprocessing, labelOf: (value: string) => string | undefined): Promise<FlashEpoch[]> {
  return firstValueFrom(from([recordingChunk(rec)]).pipe(erpFilter(channels, p), flashEpochs(p, labelOf), toArray()));
}
