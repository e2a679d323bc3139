import { from, toArray, firstValueFrom } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { Csp } from '../../src/ml/csp.js';
import { accuracy, stratifiedShuffleSplits } from '../../src/ml/cross-validation.js';
import { Lda } from '../../src/ml/lda.js';
import type { Recording } from '../../src/stream/recording.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { MODEL_FORMAT, MODEL_VERSION, MotorImageryModel, type ModelFile } from './model.js';
import { preprocess, type Preprocessing } from './preprocess.js';
import type { MotorImagerySettings } from './settings.js';

/** The whole recording as one chunk (for offline processing through the streaming operators). */
export function recordingChunk(rec: Recording): Chunk {
  return { info: rec.info, data: rec.data, samples: rec.samples, firstSample: 0, time: 0, markers: rec.markers, receivedAt: performance.now() };
}

/** The channels a pipeline uses: the configured ones, or every EEG channel of the stream. */
export function resolveChannels(info: StreamInfo, configured: readonly string[] | undefined): string[] {
  if (configured && configured.length > 0) return [...configured];
  const eeg = info.channels.filter((c) => c.type === 'eeg').map((c) => c.label);
  if (eeg.length < 2) throw new Error(`stream "${info.name}" has ${eeg.length} EEG channel(s); motor imagery needs at least 2 (set "channels")`);
  return eeg;
}

export function preprocessingOf(s: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass'>): Preprocessing {
  return { reference: s.reference, notch: s.notch, bandpass: s.bandpass };
}

/** Preprocesses a recording (filters start from rest at its first sample) and cuts the cued epochs. */
export async function epochsFromRecording(
  rec: Recording,
  channels: readonly string[],
  settings: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass' | 'events' | 'epoch'>,
): Promise<Epoch[]> {
  return firstValueFrom(
    from([recordingChunk(rec)]).pipe(
      preprocess(channels, preprocessingOf(settings)),
      markerEpochs({ events: settings.events, tmin: settings.epoch.tmin, tmax: settings.epoch.tmax }),
      toArray(),
    ),
  );
}

export interface TrainOptions {
  csp: MotorImagerySettings['csp'];
  lda: MotorImagerySettings['lda'];
  /** Splits used to estimate the accuracy reported with the model (0: none). */
  validationSplits?: number;
  seed?: number;
}

/** Fits CSP then LDA on labelled epochs. */
export function fitCspLda(epochs: readonly Epoch[], channels: number, opts: Pick<TrainOptions, 'csp' | 'lda'>): { csp: Csp; lda: Lda } {
  const labels = epochs.map((e) => e.label);
  const csp = Csp.fit(epochs, labels, channels, { components: opts.csp.components, regularization: opts.csp.regularization });
  const features = epochs.map((e) => csp.logPower(e, channels));
  const lda = Lda.fit(features, labels, { shrinkage: opts.lda.shrinkage ?? undefined });
  return { csp, lda };
}

/** Trains a model on calibration epochs, with a quick cross-validated accuracy estimate. */
export function trainModel(
  epochs: readonly Epoch[],
  channels: readonly string[],
  sampleRate: number,
  settings: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass' | 'epoch'>,
  opts: TrainOptions,
): MotorImageryModel {
  if (epochs.length === 0) throw new Error('calibration: no cued trials found (check "events" against the markers of the source)');
  const n = channels.length;
  const labels = epochs.map((e) => e.label);
  const { csp, lda } = fitCspLda(epochs, n, opts);
  let calibrationAccuracy: number | null = null;
  const splits = opts.validationSplits ?? 5;
  if (splits > 0 && Math.min(...countBy(labels).values()) >= 5) {
    const scores = stratifiedShuffleSplits(labels, splits, 0.2, opts.seed ?? 42).map(({ train, test }) => {
      const m = fitCspLda(train.map((i) => epochs[i]), n, opts);
      const predicted = test.map((i) => m.lda.predict(m.csp.logPower(epochs[i], n)));
      return accuracy(test.map((i) => labels[i]), predicted);
    });
    calibrationAccuracy = scores.reduce((a, b) => a + b, 0) / scores.length;
  }
  const file: ModelFile = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    sampleRate,
    channels: [...channels],
    preprocessing: preprocessingOf(settings),
    epoch: settings.epoch,
    csp: { ...csp.state, classes: [...csp.state.classes] as [string, string] },
    lda: { ...lda.state, classes: [...lda.state.classes] },
    calibrationAccuracy,
    trials: Object.fromEntries(countBy(labels)),
  };
  return new MotorImageryModel(file);
}

function countBy(labels: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of labels) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}
