import type { EmotionDataset, EmotionTrial } from '../../devices/datasets/emotion/emotion-dataset.js';
import type { BandFeatureOptions } from '../../src/features/band-features.js';
import { zscoreWith } from '../../src/features/feature-normalizer.js';
import type { StreamInfo } from '../../src/stream/types.js';
import type { TrainingSet } from './emotion-decoder.js';
import { appendSequences, blockFrames, frameLength, frameVector, layoutOf, type FrameLayout } from './feature-sequences.js';
import { subjectNumber } from '../../devices/datasets/emotion/open-emotion-dataset.js';
import type { TargetClasses } from './targets.js';

/**
 * The person a subject id belongs to: SEED's sessions "7-20131027" and "7-20131104" are one person
 * (7), so cross-subject folds and validation splits must keep them together.
 */
export function personOf(subjectId: string): string {
  const n = subjectNumber(subjectId);
  return n === undefined ? subjectId : String(n);
}

/** One subject's trials as normalised frame vectors. */
export interface SubjectFrames {
  readonly subject: string;
  readonly trials: readonly { readonly trial: EmotionTrial; readonly frames: readonly Float32Array[] }[];
}

export interface DatasetFrames {
  readonly layout: FrameLayout;
  readonly subjects: readonly SubjectFrames[];
}

/**
 * Feature frames of every trial, normalised per subject as a live session is: z-scored with the
 * statistics of that subject's resting baselines (label-free; the frames of all its trials when
 * the dataset has no baselines). The streaming feature operator runs over each block from its
 * first sample, as it would live.
 */
export async function datasetFrames(dataset: EmotionDataset, features: BandFeatureOptions): Promise<DatasetFrames> {
  const info: StreamInfo = { name: dataset.name, type: 'EEG', sourceId: dataset.name, channels: dataset.channels, sampleRate: dataset.sampleRate };
  let layout: FrameLayout | undefined;
  const subjects: SubjectFrames[] = [];
  for (const s of dataset.subjects) {
    // A turn for the event loop between subjects: a live session's server keeps answering.
    await new Promise((resolve) => setImmediate(resolve));
    const trials = s.trials.map((trial) => {
      const frames = blockFrames(trial, info, features);
      if (frames.length > 0) layout ??= layoutOf(frames[0]);
      return { trial, frames: frames.map(frameVector) };
    });
    const baseline = s.trials.flatMap((t) => (t.baseline ? blockFrames(t.baseline, info, features).map(frameVector) : []));
    const reference = baseline.length > 0 ? baseline : trials.flatMap((t) => t.frames);
    if (reference.length === 0) throw new Error(`${dataset.name} subject ${s.id}: no trial is long enough for one ${features.window ?? 2}-s feature window`);
    subjects.push({ subject: s.id, trials: trials.map((t) => ({ trial: t.trial, frames: zscoreWith(reference, t.frames) })) });
  }
  if (!layout) throw new Error(`${dataset.name}: no feature frames (trials shorter than the feature window?)`);
  return { layout, subjects };
}

/**
 * Labelled sequences of the given subjects for one target: every `stride`-th run of
 * `sequenceLength` frames within a trial (sequences never straddle trials); trials without a
 * class for the target are left out. `subjectOf[i]` says whose sequence i is.
 */
export function trainingSet(frames: DatasetFrames, subjects: ReadonlySet<string>, target: TargetClasses, sequenceLength: number, stride: number): TrainingSet & { subjectOf: string[] } {
  const seqs: Float32Array[] = [];
  const labels: number[] = [];
  const subjectOf: string[] = [];
  for (const s of frames.subjects) {
    if (!subjects.has(s.subject)) continue;
    for (const { trial, frames: f } of s.trials) {
      const cls = target.classOf(trial);
      if (cls === undefined) continue;
      const n = appendSequences(f, sequenceLength, stride, seqs);
      for (let i = 0; i < n; i++) {
        labels.push(target.classes.indexOf(cls));
        subjectOf.push(s.subject);
      }
    }
  }
  const L = frameLength(frames.layout);
  const sequences = new Float32Array(seqs.length * sequenceLength * L);
  seqs.forEach((q, i) => sequences.set(q, i * sequenceLength * L));
  return { sequences, count: seqs.length, sequenceLength, frameLength: L, labels, classes: target.classes, layout: frames.layout, groups: subjectOf.map(personOf), subjectOf };
}
