import type { SensorPosition } from '../../src/stream/types.js';
import { MUSE_EEG_CHANNELS, readN170Subject } from '../../devices/datasets/n170.js';
import { epochsFromRecording } from '../motor-imagery/calibrate.js';
import { accuracy, interleavedStratifiedFolds } from '../../src/ml/cross-validation.js';
import { positionsFor } from '../../src/ml/montage/standard-montage.js';
import { EpochFeatures } from '../../src/retrieval/epoch-features.js';
import { fitMegDecoder, type MegDecoderSpec } from './meg-decoder.js';

/**
 * The MEG decoders as event-locked image-category classifiers on real EEG: NeuroTechX's N170
 * recordings (Muse, 4 channels at 256 Hz, faces vs houses). Each category is a point of a
 * 2-item "gallery" (one-hot embeddings), so a decoder maps an epoch to an embedding and the
 * nearer category is its answer, exactly as image retrieval with 2 candidates.
 * Per subject: all runs, causal band-pass 1-30 Hz, epochs -0.1..0.6 s around each image onset,
 * epochs with a sample beyond ±100 µV dropped, features 0..0.6 s in 12 bins of 50 ms (baseline
 * -0.1..0 s), 5-fold interleaved stratified cross-validation.
 */
export interface N170Options {
  dataDir: string;
  subjects: number[];
  pipelines: MegDecoderSpec[];
  folds?: number;
  log?: (line: string) => void;
}

export interface N170SubjectResult {
  subject: number;
  epochs: number;
  rejected: number;
  accuracy: number;
  /** Share of the more frequent category. */
  chance: number;
}

export interface N170Result {
  dataset: 'n170';
  protocol: string;
  pipelines: { pipeline: string; subjects: N170SubjectResult[]; meanAccuracy: number }[];
  meanAccuracy: number;
  chance: number;
  best: string;
}

const REJECT_UV = 100;

export async function evaluateN170(o: N170Options): Promise<N170Result> {
  const log = o.log ?? (() => {});
  const folds = o.folds ?? 5;
  const positions: SensorPosition[] = positionsFor([...MUSE_EEG_CHANNELS]).map(([x, y]) => ({ x, y }));
  const categories = ['face', 'house'];
  const out = o.pipelines.map((spec) => ({ pipeline: spec.kind, subjects: [] as N170SubjectResult[], meanAccuracy: 0 }));
  for (const subject of o.subjects) {
    const runs = await readN170Subject(o.dataDir, subject);
    if (runs.length === 0) throw new Error(`n170: no recordings of subject ${subject} under ${o.dataDir}`);
    const all = [];
    for (const run of runs) {
      all.push(
        ...(await epochsFromRecording(run.recording, [...MUSE_EEG_CHANNELS], {
          reference: 'none',
          notch: null,
          bandpass: { low: 1, high: 30, order: 4 },
          filterBank: null,
          events: { face: 'face', house: 'house' },
          epoch: { tmin: -0.1, tmax: 0.6 },
        })),
      );
    }
    const kept = all.filter((e) => e.data.every((v) => Math.abs(v) <= REJECT_UV));
    const rate = kept[0]?.info.sampleRate ?? 256;
    const onset = Math.round(0.1 * rate);
    const epochs = kept.map((e) => ({ data: e.data, samples: e.samples, onset, label: e.label }));
    const labels = epochs.map((e) => e.label);
    const chance = Math.max(...categories.map((c) => labels.filter((l) => l === c).length)) / labels.length;
    for (const [k, spec] of o.pipelines.entries()) {
      const predicted = new Array<string>(epochs.length);
      for (const split of interleavedStratifiedFolds(labels, folds)) {
        const train = split.train.map((i) => epochs[i]);
        const features = EpochFeatures.fit(train, MUSE_EEG_CHANNELS.length, rate, { from: 0, to: 0.6, bins: 12 });
        const Y = new Float32Array(train.length * 2);
        train.forEach((e, i) => (Y[i * 2 + categories.indexOf(e.label)] = 1));
        const decoder = await fitMegDecoder(spec, {
          X: features.transformAll(train),
          n: train.length,
          T: features.bins,
          C: MUSE_EEG_CHANNELS.length,
          Y,
          D: 2,
          groups: train.map((e, i) => `${e.label}-${i}`),
          positions,
        });
        const test = split.test.map((i) => epochs[i]);
        const emb = decoder.embed(features.transformAll(test), test.length);
        decoder.dispose();
        split.test.forEach((i, j) => {
          // cosine with the one-hot points: the larger normalised coordinate
          predicted[i] = emb[j * 2] >= emb[j * 2 + 1] ? 'face' : 'house';
        });
      }
      const acc = accuracy(labels, predicted);
      out[k].subjects.push({ subject, epochs: epochs.length, rejected: all.length - kept.length, accuracy: acc, chance });
      log(`n170 subject ${subject} ${spec.kind}: accuracy ${acc.toFixed(3)} (${epochs.length} epochs, ${all.length - kept.length} rejected, chance ${chance.toFixed(3)})`);
    }
  }
  for (const p of out) p.meanAccuracy = p.subjects.reduce((a, s) => a + s.accuracy, 0) / p.subjects.length;
  const best = out.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  const chance = out[0].subjects.reduce((a, s) => a + s.chance, 0) / out[0].subjects.length;
  return {
    dataset: 'n170',
    protocol: `faces vs houses, per subject, 1-30 Hz, epochs -0.1..0.6 s (±${REJECT_UV} µV rejection), 12 bins of 50 ms, ${folds}-fold interleaved stratified CV`,
    pipelines: out,
    meanAccuracy: out[0].meanAccuracy,
    chance,
    best: best.pipeline,
  };
}
