import { firstValueFrom, from, toArray } from 'rxjs';
import { readMuseVisualSubject } from '../../devices/datasets/muse-visual.js';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { accuracy, interleavedStratifiedFolds } from '../../src/ml/cross-validation.js';
import { Trca } from '../../src/ml/ssvep/trca.js';
import { MUSE_EEG_CHANNELS, MUSE_SAMPLE_RATE } from '../../devices/file/muse-csv.js';
import { ssvepFrontEnd } from './front-end.js';
import { ssvepSettingsSchema, type SsvepSettings } from './settings.js';
import { markerLabels, recordingChunk, referenceScorer } from './window-scorer.js';

export const SSVEP_DECODERS = ['cca', 'fbcca', 'trca'] as const;
export type SsvepDecoderName = (typeof SSVEP_DECODERS)[number];

export interface SsvepEvaluateOptions {
  dataDir: string;
  subjects: number[];
  decoders: SsvepDecoderName[];
  /** Window length after each stimulus marker, seconds. */
  window: number;
  harmonics: number;
  /** TRCA's interleaved stratified folds. */
  folds: number;
}

export interface SsvepSubjectResult {
  subject: number;
  trials: number;
  accuracy: number;
  /** TRCA: accuracy of each fold (the subject's accuracy is their mean); CCA/FBCCA: none (no training). */
  foldAccuracies: number[];
}

export interface SsvepPipelineResult {
  pipeline: string;
  subjects: SsvepSubjectResult[];
  meanAccuracy: number;
}

export interface SsvepEvaluationResult extends SsvepPipelineResult {
  dataset: string;
  protocol: string;
  window: number;
  pipelines: SsvepPipelineResult[];
  best: string;
}

/**
 * The Muse SSVEP recordings' protocol (eeg-notebooks' ssvep.py on a 60 Hz screen: marker 1 = 30 Hz
 * pattern reversal, 2 = 20 Hz; the spectrum of subject 1 peaks there). The mains of these North
 * American recordings sits on the 30 Hz target's second harmonic and the 20 Hz one's third, so a
 * 60 Hz notch comes first; the band-pass keeps 15-90 Hz (fundamentals and harmonics).
 */
export const MUSE_SSVEP = {
  targets: [
    { label: '30Hz', frequency: 30, marker: '1' },
    { label: '20Hz', frequency: 20, marker: '2' },
  ],
  notch: { freq: 60, q: 30 },
  bandpass: { low: 15, high: 90, order: 4 },
} as const;

/** The pipeline settings a decoder is evaluated with (the same front end a live session runs). */
export function evaluationSettings(decoder: SsvepDecoderName, window: number, harmonics: number): SsvepSettings {
  const base = {
    kind: 'ssvep',
    channels: [...MUSE_EEG_CHANNELS],
    notch: MUSE_SSVEP.notch,
    bandpass: MUSE_SSVEP.bandpass,
    targets: MUSE_SSVEP.targets,
    harmonics,
    window: { length: window, align: 'stimulus' },
  };
  const spec = decoder === 'trca' ? { kind: 'trca', calibration: { from: 'recording', source: '(cross-validation folds)' } } : { kind: decoder };
  return ssvepSettingsSchema.parse({ ...base, decoder: spec });
}

/**
 * Offline SSVEP accuracy per subject: every run filtered causally on its own (as online), a window
 * of `window` s from each stimulus marker; CCA and FBCCA score every window against the reference
 * sinusoids (no training), TRCA is fitted and tested on interleaved stratified folds.
 */
export async function evaluateSsvep(opts: SsvepEvaluateOptions): Promise<SsvepEvaluationResult> {
  if (opts.decoders.length === 0) throw new Error('evaluate: no pipeline given');
  const samples = Math.max(1, Math.round(opts.window * MUSE_SAMPLE_RATE));
  const results: SsvepPipelineResult[] = opts.decoders.map((d) => ({ pipeline: d, subjects: [], meanAccuracy: NaN }));
  for (const subject of opts.subjects) {
    const runs = await readMuseVisualSubject(opts.dataDir, 'SSVEP', subject);
    for (const [i, decoder] of opts.decoders.entries()) {
      const s = evaluationSettings(decoder, opts.window, opts.harmonics);
      const epochs: Epoch[] = [];
      for (const run of runs) {
        const cut = markerEpochs({ events: markerLabels(s), tmin: 0, tmax: (samples - 1) / MUSE_SAMPLE_RATE });
        epochs.push(...(await firstValueFrom(from([recordingChunk(run.recording)]).pipe(ssvepFrontEnd(s.channels!, s), cut, toArray()))));
      }
      results[i].subjects.push(decoder === 'trca' ? crossValidatedTrca(subject, epochs, s, opts.folds) : referenceAccuracy(subject, epochs, s, samples));
    }
  }
  for (const r of results) r.meanAccuracy = r.subjects.reduce((a, x) => a + x.accuracy, 0) / r.subjects.length;
  const best = results.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  const protocol =
    `Muse SSVEP (30 Hz = marker 1, 20 Hz = marker 2), ${opts.window} s from each marker, notch 60 Hz, band-pass ${MUSE_SSVEP.bandpass.low}-${MUSE_SSVEP.bandpass.high} Hz (FBCCA: sub-bands n·20−2 to 90 Hz, n = 1..3, weights n^-1.25 + 0.25), ` +
    `${opts.harmonics} harmonic(s); TRCA (ensemble) on ${opts.folds}-fold interleaved stratified CV`;
  return { dataset: 'muse-ssvep', protocol, window: opts.window, ...results[0], pipelines: results, best: best.pipeline };
}

function referenceAccuracy(subject: number, epochs: readonly Epoch[], s: SsvepSettings, samples: number): SsvepSubjectResult {
  const scorer = referenceScorer(s, s.channels!.length, samples, MUSE_SAMPLE_RATE);
  const scores = new Float64Array(s.targets.length);
  const predicted = epochs.map((e) => s.targets[argmaxOf(scorer.score(e.data, scores))].label);
  return {
    subject,
    trials: epochs.length,
    accuracy: accuracy(
      epochs.map((e) => e.label),
      predicted,
    ),
    foldAccuracies: [],
  };
}

function crossValidatedTrca(subject: number, epochs: readonly Epoch[], s: SsvepSettings, folds: number): SsvepSubjectResult {
  const labels = epochs.map((e) => e.label);
  const channels = s.channels!.length;
  const foldAccuracies = interleavedStratifiedFolds(labels, folds).map(({ train, test }) => {
    const trca = Trca.fit(
      train.map((i) => epochs[i]),
      train.map((i) => labels[i]),
      channels,
      { ensemble: true },
    );
    const out = new Float64Array(trca.state.classes.length);
    const predicted = test.map((i) => trca.state.classes[argmaxOf(trca.correlations(epochs[i].data, channels, 0, out))]);
    return accuracy(
      test.map((i) => labels[i]),
      predicted,
    );
  });
  return { subject, trials: epochs.length, accuracy: foldAccuracies.reduce((a, b) => a + b, 0) / foldAccuracies.length, foldAccuracies };
}

function argmaxOf(v: Float64Array): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k] > v[best]) best = k;
  return best;
}
