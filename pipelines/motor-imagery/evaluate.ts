import { performance } from 'node:perf_hooks';
import type { Epoch } from '../../src/dsp/epochs.js';
import { accuracy, cohenKappa, interleavedStratifiedFolds, stratifiedShuffleSplits, type Split } from '../../src/ml/cross-validation.js';
import { argmax, type Decoder } from '../../src/ml/decoders/decoder.js';
import type { DecoderSpec } from '../../src/ml/decoders/decoder-spec.js';
import { fitDecoder } from '../../src/ml/decoders/registry.js';
import { eegmmidbEvents, readEegmmidbRun } from '../../devices/datasets/eegmmidb.js';
import { generateMotorImagery } from '../../devices/synthetic/motor-imagery.js';
import type { Recording } from '../../src/stream/recording.js';
import { epochsFromRecording, resolveChannels } from './calibrate.js';
import { preprocessingFor } from './preprocess.js';

/** EEGMMIDB motor-imagery tasks and the imagery runs that hold them. */
export const TASK_RUNS = {
  'left-right': [4, 8, 12],
  'hands-feet': [6, 10, 14],
  'four-class': [4, 6, 8, 10, 12, 14],
} as const;
export type MotorTask = keyof typeof TASK_RUNS;

export type CrossValidation =
  | { kind: 'kfold'; folds: number }
  | { kind: 'shuffle'; splits: number; testSize: number; seed: number }
  /** Train on the other runs, test on `testRuns` (default: the last run of each class pair). */
  | { kind: 'cross-run'; testRuns?: number[] };

export interface EvaluateOptions {
  dataset: 'eegmmidb' | 'synthetic';
  dataDir: string;
  subjects: number[];
  /** The runs to read; by default those of `task`. */
  runs: number[];
  pipelines: DecoderSpec[];
  band: { low: number; high: number; order: number };
  tmin: number;
  tmax: number;
  cv: CrossValidation;
  /**
   * Cross-run only: re-centre the Riemannian decoders on resting data (the T0 epochs), the
   * training runs on theirs and the test run on its own: unsupervised transfer.
   */
  recenter?: boolean;
}

export interface SubjectResult {
  subject: number;
  trials: number;
  accuracy: number;
  kappa: number;
  foldAccuracies: number[];
  /** Median time to fit the decoder on one training split, ms. */
  fitMs: number;
}

export interface PipelineResult {
  pipeline: string;
  subjects: SubjectResult[];
  meanAccuracy: number;
  meanKappa: number;
  meanFitMs: number;
}

export interface EvaluationResult extends PipelineResult {
  dataset: string;
  protocol: string;
  /** Every pipeline's result when several were asked for (the top-level fields are the first's). */
  pipelines: PipelineResult[];
  best: string;
}

/** Evaluation preprocessing besides the band-pass: none of the optional steps. */
const BASE = { reference: 'none', notch: null } as const;

interface RunEpoch {
  epoch: Epoch;
  run: number;
}

/**
 * Offline evaluation of motor-imagery decoders: every run is filtered causally on its own (as it
 * would be online), cut into epochs [tmin, tmax] after each cue, and each decoder is fitted and
 * tested on the splits of `cv`. Accuracy is averaged over folds; kappa pools all test predictions.
 */
export async function evaluateMotorImagery(opts: EvaluateOptions): Promise<EvaluationResult> {
  if (opts.pipelines.length === 0) throw new Error('evaluate: no pipeline given');
  const results: PipelineResult[] = opts.pipelines.map((p) => ({ pipeline: p.kind, subjects: [], meanAccuracy: NaN, meanKappa: NaN, meanFitMs: NaN }));
  for (const subject of opts.subjects) {
    const recordings = await subjectRecordings(opts, subject);
    // Decoders that share a preprocessing (all but FBCSP) share its epochs: each run is filtered once.
    const cache = new Map<string, Promise<RunEpoch[]>>();
    const cut = (spec: DecoderSpec, events: Record<string, string> | null): Promise<RunEpoch[]> => {
      const key = JSON.stringify([preprocessingFor(spec, { ...BASE, bandpass: opts.band }), events]);
      if (!cache.has(key)) cache.set(key, cutEpochs(recordings, opts, spec, events));
      return cache.get(key)!;
    };
    for (const [i, spec] of opts.pipelines.entries()) {
      const epochs = await cut(spec, null);
      const rest = opts.recenter && opts.cv.kind === 'cross-run' ? await cut(spec, { T0: 'rest' }) : [];
      results[i].subjects.push(await evaluateSubject(subject, epochs, rest, spec, opts));
    }
  }
  for (const r of results) {
    r.meanAccuracy = mean(r.subjects.map((s) => s.accuracy));
    r.meanKappa = mean(r.subjects.map((s) => s.kappa));
    r.meanFitMs = mean(r.subjects.map((s) => s.fitMs));
  }
  const best = results.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  return { dataset: opts.dataset, protocol: describe(opts), ...results[0], pipelines: results, best: best.pipeline };
}

async function evaluateSubject(subject: number, epochs: RunEpoch[], rest: RunEpoch[], spec: DecoderSpec, opts: EvaluateOptions): Promise<SubjectResult> {
  const labels = epochs.map((e) => e.epoch.label);
  const channels = epochs[0].epoch.info.channels.length;
  const splits = splitsFor(opts.cv, epochs);
  const transfer = opts.recenter === true && opts.cv.kind === 'cross-run';
  const fitSpec = transfer && (spec.kind === 'mdm' || spec.kind === 'tangent-space-lr') ? { ...spec, recenter: true } : spec;
  const truth: string[] = [];
  const predicted: string[] = [];
  const fitTimes: number[] = [];
  const foldAccuracies: number[] = [];
  for (const { train, test } of splits) {
    const start = performance.now();
    const trainRuns = new Set(train.map((i) => epochs[i].run));
    const decoder: Decoder = await fitDecoder(
      fitSpec,
      train.map((i) => epochs[i].epoch),
      train.map((i) => labels[i]),
      channels,
      { sampleRate: epochs[0].epoch.info.sampleRate, ...(transfer ? { recenterOn: rest.filter((r) => trainRuns.has(r.run)).map((r) => r.epoch) } : {}) },
    );
    fitTimes.push(performance.now() - start);
    if (transfer && decoder.recenterOn) {
      const testRuns = new Set(test.map((i) => epochs[i].run));
      decoder.recenterOn(rest.filter((r) => testRuns.has(r.run)).map((r) => r.epoch));
    }
    const t = test.map((i) => labels[i]);
    const p = test.map((i) => decoder.classes[argmax(decoder.probabilities(epochs[i].epoch))]);
    decoder.dispose?.();
    truth.push(...t);
    predicted.push(...p);
    foldAccuracies.push(accuracy(t, p));
  }
  return { subject, trials: epochs.length, accuracy: mean(foldAccuracies), kappa: cohenKappa(truth, predicted), foldAccuracies, fitMs: median(fitTimes) };
}

function splitsFor(cv: CrossValidation, epochs: readonly RunEpoch[]): Split[] {
  const labels = epochs.map((e) => e.epoch.label);
  if (cv.kind === 'kfold') return interleavedStratifiedFolds(labels, cv.folds);
  if (cv.kind === 'shuffle') return stratifiedShuffleSplits(labels, cv.splits, cv.testSize, cv.seed);
  const runs = [...new Set(epochs.map((e) => e.run))].sort((a, b) => a - b);
  const testRuns = cv.testRuns ?? defaultTestRuns(runs);
  const test = epochs.flatMap((e, i) => (testRuns.includes(e.run) ? [i] : []));
  const train = epochs.flatMap((e, i) => (testRuns.includes(e.run) ? [] : [i]));
  if (test.length === 0 || train.length === 0) {
    throw new Error(`cross-run split: runs ${runs.join(',')} with test runs ${testRuns.join(',')} leave an empty training or test set`);
  }
  return [{ train, test }];
}

/** The last run of each EEGMMIDB task present (runs 4-12 step 4 are one task, 6-14 the other). */
function defaultTestRuns(runs: readonly number[]): number[] {
  const byTask = new Map<number, number>();
  for (const r of runs) byTask.set(r % 4, Math.max(byTask.get(r % 4) ?? 0, r));
  return [...byTask.values()];
}

async function subjectRecordings(opts: EvaluateOptions, subject: number): Promise<{ run: number; rec: Recording; events: Record<string, string> }[]> {
  if (opts.dataset === 'synthetic') {
    return [{ run: 1, rec: generateMotorImagery({ subject, seed: subject, trialsPerClass: 30 }), events: { left: 'left', right: 'right' } }];
  }
  return Promise.all(opts.runs.map(async (run) => ({ run, rec: await readEegmmidbRun(opts.dataDir, subject, run), events: eegmmidbEvents(run) })));
}

async function cutEpochs(
  recordings: { run: number; rec: Recording; events: Record<string, string> }[],
  opts: EvaluateOptions,
  spec: DecoderSpec,
  events: Record<string, string> | null,
): Promise<RunEpoch[]> {
  const out: RunEpoch[] = [];
  // Each run is filtered on its own (filter state starts at rest at the run's first sample).
  for (const { run, rec, events: runEvents } of recordings) {
    const settings = {
      ...preprocessingFor(spec, { ...BASE, bandpass: opts.band }),
      events: events ?? runEvents,
      epoch: { tmin: opts.tmin, tmax: opts.tmax },
    };
    const epochs = await epochsFromRecording(rec, resolveChannels(rec.info, undefined), settings);
    out.push(...epochs.map((epoch) => ({ epoch, run })));
  }
  if (out.length === 0) throw new Error(`no ${events ? Object.keys(events).join('/') : 'cued'} epochs in runs ${recordings.map((r) => r.run).join(',')}`);
  return out;
}

function describe(opts: EvaluateOptions): string {
  const cv =
    opts.cv.kind === 'kfold'
      ? `${opts.cv.folds}-fold interleaved stratified CV`
      : opts.cv.kind === 'shuffle'
        ? `${opts.cv.splits} stratified shuffle splits, test ${opts.cv.testSize}, seed ${opts.cv.seed}`
        : `cross-run (test runs ${opts.cv.testRuns?.join(',') ?? 'last of each task'})${opts.recenter ? ', re-centred on each run' : ''}`;
  return `${cv}; runs ${opts.runs.join(',')}; band ${opts.band.low}-${opts.band.high} Hz (causal Butterworth order ${opts.band.order}; fbcsp: its filter bank); epochs ${opts.tmin}-${opts.tmax} s after cue`;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
