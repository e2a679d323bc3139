import { firstValueFrom, from, toArray } from 'rxjs';
import { markerEpochs } from '../../src/dsp/epochs.js';
import { CcaScorer } from '../../src/ml/ssvep/cca.js';
import { FbccaScorer, subBandWeights } from '../../src/ml/ssvep/fbcca.js';
import { Trca } from '../../src/ml/ssvep/trca.js';
import type { Recording } from '../../src/stream/recording.js';
import type { Chunk } from '../../src/stream/types.js';
import { fbccaBands, ssvepFrontEnd } from './front-end.js';
import type { SsvepSettings } from './settings.js';

/** Scores every target on one preprocessed window (samples x width, sample-major), higher = likelier. */
export interface WindowScorer {
  readonly samples: number;
  score(data: ArrayLike<number>, out: Float64Array): Float64Array;
}

/** CCA or FBCCA: needs no training, only the stream's rate and the window length. */
export function referenceScorer(s: SsvepSettings, channels: number, samples: number, sampleRate: number): WindowScorer {
  const opts = { frequencies: s.targets.map((t) => t.frequency), harmonics: s.harmonics, samples, sampleRate };
  try {
    if (s.decoder.kind === 'fbcca') {
      const fb = new FbccaScorer(opts, subBandWeights(fbccaBands(s).length, s.decoder.a, s.decoder.b));
      return { samples, score: (data, out) => fb.scores(data, channels, out) };
    }
    const cca = new CcaScorer(opts);
    return { samples, score: (data, out) => cca.correlations(data, channels, 0, channels, out) };
  } catch (e) {
    throw new Error(`ssvep: targets/harmonics/window: ${(e as Error).message}`);
  }
}

/** TRCA scores are the correlations with each target's template, in the order of `targets`. */
export function trcaScorer(trca: Trca, s: SsvepSettings): WindowScorer {
  const order = s.targets.map((t) => {
    const k = trca.state.classes.indexOf(t.label);
    if (k < 0) throw new Error(`ssvep: TRCA was calibrated without target "${t.label}"`);
    return k;
  });
  const byClass = new Float64Array(trca.state.classes.length);
  return {
    samples: trca.state.samples,
    score: (data, out) => {
      trca.correlations(data, trca.state.channels, 0, byClass);
      for (let k = 0; k < order.length; k++) out[k] = byClass[order[k]];
      return out;
    },
  };
}

/** The whole recording as one chunk (the streaming operators are chunking-invariant). */
export function recordingChunk(rec: Recording): Chunk {
  return { info: rec.info, data: rec.data, samples: rec.samples, firstSample: 0, time: 0, markers: rec.markers, receivedAt: 0 };
}

/** Fits TRCA on the windows of `samples` samples that start at each target marker of a recording, preprocessed as online. */
export async function calibrateTrca(rec: Recording, channels: readonly string[], samples: number, s: SsvepSettings): Promise<Trca> {
  if (s.decoder.kind !== 'trca') throw new Error('calibrateTrca: not a trca decoder');
  const events = markerLabels(s);
  const epochs = await firstValueFrom(from([recordingChunk(rec)]).pipe(ssvepFrontEnd(channels, s), markerEpochs({ events, tmin: 0, tmax: (samples - 1) / rec.info.sampleRate }), toArray()));
  if (epochs.length === 0) throw new Error(`ssvep: calibration recording has none of the target markers ${Object.keys(events).join(', ')}`);
  return Trca.fit(
    epochs,
    epochs.map((e) => e.label),
    channels.length,
    { ensemble: s.decoder.ensemble },
  );
}

/** Marker value -> target label, for the targets that name their marker. */
export function markerLabels(s: SsvepSettings): Record<string, string> {
  return Object.fromEntries(s.targets.flatMap((t) => (t.marker === undefined ? [] : [[t.marker, t.label]])));
}
