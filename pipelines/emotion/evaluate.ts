import { performance } from 'node:perf_hooks';
import type { EmotionDataset } from '../../devices/datasets/emotion/emotion-dataset.js';
import { accuracy, groupFolds, macroF1 } from '../../src/ml/cross-validation.js';
import { argmax } from '../../src/ml/softmax.js';
import type { BandFeatureOptions } from '../../src/features/band-features.js';
import { datasetFrames, personOf, trainingSet } from './dataset-features.js';
import type { EmotionDecoderSpec } from './emotion-decoder-spec.js';
import { fitEmotionDecoder } from './emotion-decoders.js';
import { targetClasses, type EmotionTarget, type Levels } from './targets.js';

export interface EmotionEvaluateOptions {
  dataset: EmotionDataset;
  pipelines: EmotionDecoderSpec[];
  target: EmotionTarget;
  levels: Levels;
  /** Folds over subjects (held-out subjects per fold); >= the number of subjects: leave-one-subject-out. */
  folds: number;
  features: BandFeatureOptions;
  /** Frames per decision (the decoders' input sequence). */
  sequenceLength: number;
  /** Training sequences start every `trainStride` frames (test sequences: every frame). */
  trainStride: number;
  seed: number;
  log?: (line: string) => void;
}

export interface EmotionSubjectResult {
  subject: string;
  sequences: number;
  accuracy: number;
  macroF1: number;
}

export interface EmotionPipelineResult {
  pipeline: string;
  subjects: EmotionSubjectResult[];
  /** Mean over held-out subjects. */
  meanAccuracy: number;
  macroF1: number;
  /** Mean time to train on one fold, ms. */
  meanFitMs: number;
  parameters?: number;
}

export interface EmotionEvaluationResult extends EmotionPipelineResult {
  dataset: string;
  target: EmotionTarget;
  classes: readonly string[];
  protocol: string;
  /** Accuracy of always answering the most frequent class of the training subjects, on the held-out subjects' sequences (mean over subjects). */
  chance: number;
  /** 1 / number of classes. */
  uniformChance: number;
  pipelines: EmotionPipelineResult[];
  best: string;
  /** The held-out subjects of each fold (a person's sessions are always held out together). */
  folds: string[][];
}

/**
 * Cross-subject evaluation: the subjects are dealt into folds; each decoder trains on the other
 * folds' subjects and is scored on every held-out subject's sequences (every frame, within trials).
 * Features are normalised per subject from its own resting baseline, label-free, as live.
 */
export async function evaluateEmotion(o: EmotionEvaluateOptions): Promise<EmotionEvaluationResult> {
  const log = o.log ?? (() => {});
  const target = targetClasses(o.dataset, o.target, o.levels);
  const t0 = performance.now();
  const frames = await datasetFrames(o.dataset, o.features);
  log(`features of ${o.dataset.subjects.length} subjects in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Folds over people, not sessions: a person's other sessions never train the model tested on them.
  const people = groupFolds(
    frames.subjects.map((s) => personOf(s.subject)),
    o.folds,
    o.seed,
  );
  const folds = people.map((f) => ({
    train: frames.subjects.map((s) => s.subject).filter((id) => f.train.includes(personOf(id))),
    test: frames.subjects.map((s) => s.subject).filter((id) => f.test.includes(personOf(id))),
  }));
  // By position in o.pipelines: the same kind may be asked for twice (with other options).
  const results = new Map<number, { subjects: EmotionSubjectResult[]; fitMs: number[]; parameters?: number }>();
  const chanceBySubject = new Map<string, number>();
  for (const [f, fold] of folds.entries()) {
    const train = trainingSet(frames, new Set(fold.train), target, o.sequenceLength, o.trainStride);
    const test = trainingSet(frames, new Set(fold.test), target, o.sequenceLength, 1);
    const majority = argmax(target.classes.map((_, k) => train.labels.filter((l) => l === k).length));
    for (const s of fold.test) {
      const idx = test.subjectOf.flatMap((x, i) => (x === s ? [i] : []));
      chanceBySubject.set(s, idx.filter((i) => test.labels[i] === majority).length / Math.max(1, idx.length));
    }
    for (const [index, spec] of o.pipelines.entries()) {
      const started = performance.now();
      const decoder = await fitEmotionDecoder(spec, train);
      const fitMs = performance.now() - started;
      const T = o.sequenceLength;
      const L = test.frameLength;
      const predicted: string[] = [];
      if (decoder.probabilitiesBatch) {
        const p = decoder.probabilitiesBatch(test.sequences, test.count);
        const K = target.classes.length;
        for (let i = 0; i < test.count; i++) predicted.push(target.classes[argmax(p.subarray(i * K, (i + 1) * K))]);
      } else {
        const out = new Float64Array(target.classes.length);
        for (let i = 0; i < test.count; i++) predicted.push(target.classes[argmax(decoder.probabilities(test.sequences.subarray(i * T * L, (i + 1) * T * L), out))]);
      }
      const parameters = 'parameterCount' in decoder ? (decoder as { parameterCount: number }).parameterCount : undefined;
      decoder.dispose?.();
      const entry = results.get(index) ?? { subjects: [], fitMs: [], parameters };
      entry.fitMs.push(fitMs);
      for (const s of fold.test) {
        const idx = test.subjectOf.flatMap((x, i) => (x === s ? [i] : []));
        if (idx.length === 0) continue;
        const truth = idx.map((i) => target.classes[test.labels[i]]);
        const guess = idx.map((i) => predicted[i]);
        entry.subjects.push({ subject: s, sequences: idx.length, accuracy: accuracy(truth, guess), macroF1: macroF1(truth, guess, target.classes) });
      }
      results.set(index, entry);
      const last = entry.subjects.slice(-fold.test.length);
      log(`fold ${f + 1}/${folds.length} ${spec.kind}: held-out ${fold.test.join(',')} accuracy ${mean(last.map((r) => r.accuracy)).toFixed(3)} (fit ${(fitMs / 1000).toFixed(1)} s)`);
    }
  }
  const pipelines: EmotionPipelineResult[] = o.pipelines.map((spec, index) => {
    const r = results.get(index)!;
    const subjects = [...r.subjects].sort((a, b) => a.subject.localeCompare(b.subject, undefined, { numeric: true }));
    return {
      pipeline: spec.kind,
      subjects,
      meanAccuracy: mean(subjects.map((s) => s.accuracy)),
      macroF1: mean(subjects.map((s) => s.macroF1)),
      meanFitMs: mean(r.fitMs),
      ...(r.parameters !== undefined ? { parameters: r.parameters } : {}),
    };
  });
  const best = pipelines.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  return {
    ...pipelines[0],
    dataset: o.dataset.name,
    target: o.target,
    classes: target.classes,
    protocol:
      `${o.target}, ${target.classes.length} classes (${target.classes.join('/')}); ${folds.length}-fold cross-subject (held-out subjects), ` +
      `${o.features.window ?? 2}-s windows every ${o.features.hop ?? 0.5} s, ${o.sequenceLength} frames per decision, per-subject baseline z-score`,
    chance: mean([...chanceBySubject.values()]),
    uniformChance: 1 / target.classes.length,
    pipelines,
    best: best.pipeline,
    folds: folds.map((f) => f.test),
  };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
