import type { Epoch } from '../../src/dsp/epochs.js';
import { accuracy, cohenKappa, stratifiedShuffleSplits } from '../../src/ml/cross-validation.js';
import { eegmmidbEvents, readEegmmidbRun } from '../../devices/datasets/eegmmidb.js';
import { generateMotorImagery } from '../../devices/synthetic/motor-imagery.js';
import { epochsFromRecording, fitCspLda, resolveChannels } from './calibrate.js';
import type { MotorImagerySettings } from './settings.js';

export interface EvaluateOptions {
  dataset: 'eegmmidb' | 'synthetic';
  dataDir: string;
  subjects: number[];
  runs: number[];
  pipeline: 'csp-lda';
  band: { low: number; high: number; order: number };
  tmin: number;
  tmax: number;
  folds: number;
  testSize: number;
  seed: number;
  components: number;
  shrinkage: number | 'auto' | null;
}

export interface SubjectResult {
  subject: number;
  trials: number;
  accuracy: number;
  kappa: number;
  foldAccuracies: number[];
}

export interface EvaluationResult {
  dataset: string;
  pipeline: string;
  protocol: string;
  subjects: SubjectResult[];
  meanAccuracy: number;
  meanKappa: number;
}

/**
 * Within-session evaluation as in MNE's CSP example: band-pass, epochs [tmin, tmax] after each
 * cue, `folds` random stratified splits holding out `testSize` of the trials, CSP+LDA fitted on
 * the training part of each split.
 */
export async function evaluateMotorImagery(opts: EvaluateOptions): Promise<EvaluationResult> {
  const subjects: SubjectResult[] = [];
  for (const subject of opts.subjects) {
    const epochs = await subjectEpochs(opts, subject);
    const labels = epochs.map((e) => e.label);
    const channels = epochs[0].info.channels.length;
    const truth: string[] = [];
    const predicted: string[] = [];
    const foldAccuracies = stratifiedShuffleSplits(labels, opts.folds, opts.testSize, opts.seed).map(({ train, test }) => {
      const { csp, lda } = fitCspLda(
        train.map((i) => epochs[i]),
        channels,
        { csp: { components: opts.components, regularization: 0 }, lda: { shrinkage: opts.shrinkage } },
      );
      const t = test.map((i) => labels[i]);
      const p = test.map((i) => lda.predict(csp.logPower(epochs[i], channels)));
      truth.push(...t);
      predicted.push(...p);
      return accuracy(t, p);
    });
    subjects.push({
      subject,
      trials: epochs.length,
      accuracy: mean(foldAccuracies),
      kappa: cohenKappa(truth, predicted),
      foldAccuracies,
    });
  }
  return {
    dataset: opts.dataset,
    pipeline: opts.pipeline,
    protocol: `${opts.folds} stratified shuffle splits, test ${opts.testSize}, seed ${opts.seed}; band ${opts.band.low}-${opts.band.high} Hz (causal Butterworth order ${opts.band.order}); epochs ${opts.tmin}-${opts.tmax} s after cue`,
    subjects,
    meanAccuracy: mean(subjects.map((s) => s.accuracy)),
    meanKappa: mean(subjects.map((s) => s.kappa)),
  };
}

async function subjectEpochs(opts: EvaluateOptions, subject: number): Promise<Epoch[]> {
  const settings: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass' | 'events' | 'epoch'> = {
    reference: 'none',
    notch: null,
    bandpass: opts.band,
    events: {},
    epoch: { tmin: opts.tmin, tmax: opts.tmax },
  };
  const epochs: Epoch[] = [];
  if (opts.dataset === 'synthetic') {
    const rec = generateMotorImagery({ subject, seed: subject, trialsPerClass: 30 });
    return epochsFromRecording(rec, resolveChannels(rec.info, undefined), { ...settings, events: { left: 'left', right: 'right' } });
  }
  // Each run is filtered on its own (filter state starts at rest at the run's first sample).
  for (const run of opts.runs) {
    const rec = await readEegmmidbRun(opts.dataDir, subject, run);
    epochs.push(...(await epochsFromRecording(rec, resolveChannels(rec.info, undefined), { ...settings, events: eegmmidbEvents(run) })));
  }
  if (epochs.length === 0) throw new Error(`subject ${subject}: no T1/T2 epochs in runs ${opts.runs.join(',')}`);
  return epochs;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
