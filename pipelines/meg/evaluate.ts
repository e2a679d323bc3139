import { performance } from 'node:perf_hooks';
import type { MegDataset } from '../../devices/datasets/meg/meg-dataset.js';
import { averageByImage, type ImageSplit, type RetrievalCeiling } from '../../devices/synthetic/meg-images.js';
import { EpochFeatures, type EpochFeatureOptions } from '../../src/retrieval/epoch-features.js';
import type { Gallery } from '../../src/retrieval/gallery.js';
import { retrievalMetrics } from '../../src/retrieval/top-k.js';
import { fitMegDecoder, type MegDecoder, type MegDecoderSpec } from './meg-decoder.js';

export interface MegEvaluateOptions {
  dataset: MegDataset;
  gallery: Gallery;
  /** Training images and held-out images (never trained on). */
  split: ImageSplit;
  pipelines: MegDecoderSpec[];
  features?: EpochFeatureOptions;
  /**
   * 'subject' (default): one decoder per subject; 'pooled': one decoder trained on every subject's
   * training epochs (the brain module's subject layer tells them apart), tested per subject.
   */
  training?: 'subject' | 'pooled';
  ceiling?: RetrievalCeiling;
  log?: (line: string) => void;
}

export interface MegSubjectResult {
  subject: string;
  /** Among the held-out images, from each image's averaged repetitions. */
  top1: number;
  top5: number;
  /** From single held-out epochs. */
  singleTop1: number;
  singleTop5: number;
  fitMs: number;
}

export interface MegPipelineResult {
  pipeline: string;
  subjects: MegSubjectResult[];
  top1: number;
  top5: number;
  singleTop1: number;
  singleTop5: number;
  parameters: number;
  meanFitMs: number;
}

export interface MegEvaluationResult extends MegPipelineResult {
  dataset: string;
  protocol: string;
  /** Top-5 chance among the held-out images: 5 / their number. */
  chance: number;
  chanceTop1: number;
  testImages: number;
  ceiling?: RetrievalCeiling;
  pipelines: MegPipelineResult[];
  best: string;
}

/**
 * Image retrieval on held-out images: per subject, each decoder learns from the training images'
 * epochs (one per image) to map epoch features to the images' embeddings; each held-out image's
 * epochs (averaged over repetitions, and one by one) are mapped and the held-out images ranked by
 * cosine similarity. Scores: top-1 and top-5 among the held-out images.
 */
export async function evaluateMegRetrieval(o: MegEvaluateOptions): Promise<MegEvaluationResult> {
  const log = o.log ?? (() => {});
  const C = o.dataset.channels.length;
  const rate = o.dataset.sampleRate;
  const train = new Set(o.split.train);
  const testGallery = o.gallery.subset(o.split.test);
  const results: MegPipelineResult[] = o.pipelines.map((spec) => ({ pipeline: spec.kind, subjects: [], top1: 0, top5: 0, singleTop1: 0, singleTop5: 0, parameters: 0, meanFitMs: 0 }));
  const D = o.gallery.dim;
  // Per subject: features scaled on its training epochs, training and test matrices.
  const prepared = o.dataset.subjects.map((subject, index) => {
    const trainEpochs = subject.epochs.filter((e) => train.has(e.imageId));
    const features = EpochFeatures.fit(trainEpochs, C, rate, o.features);
    const Y = new Float32Array(trainEpochs.length * D);
    trainEpochs.forEach((e, i) => Y.set(o.gallery.embeddingOf(e.imageId), i * D));
    const averaged = averageByImage(subject, o.split.test, C).map((data) => ({ data, samples: trainEpochs[0].samples, onset: trainEpochs[0].onset }));
    const testEpochs = subject.epochs.filter((e) => !train.has(e.imageId));
    return {
      subject,
      index,
      bins: features.bins,
      X: features.transformAll(trainEpochs),
      Y,
      groups: trainEpochs.map((e) => e.imageId),
      Xavg: features.transformAll(averaged),
      nAvg: averaged.length,
      Xsingle: features.transformAll(testEpochs),
      singleIds: testEpochs.map((e) => e.imageId),
    };
  });
  const bins = prepared[0]?.bins ?? 0;
  const score = (k: number, decoder: MegDecoder, p: (typeof prepared)[number], fitMs: number): void => {
    const subjects = (n: number): Int32Array | undefined => (o.training === 'pooled' ? new Int32Array(n).fill(p.index) : undefined);
    const avg = retrievalMetrics(decoder.embed(p.Xavg, p.nAvg, subjects(p.nAvg)), o.split.test, testGallery);
    const single = retrievalMetrics(decoder.embed(p.Xsingle, p.singleIds.length, subjects(p.singleIds.length)), p.singleIds, testGallery);
    results[k].parameters = decoder.parameterCount;
    results[k].subjects.push({ subject: p.subject.id, top1: avg.top1, top5: avg.top5, singleTop1: single.top1, singleTop5: single.top5, fitMs });
    log(
      `subject ${p.subject.id} ${o.pipelines[k].kind}: top-1 ${avg.top1.toFixed(3)} top-5 ${avg.top5.toFixed(3)} (single epochs ${single.top1.toFixed(3)} / ${single.top5.toFixed(3)}), fit ${(fitMs / 1000).toFixed(1)} s`,
    );
  };
  for (const [k, spec] of o.pipelines.entries()) {
    if (o.training === 'pooled') {
      const n = prepared.reduce((a, p) => a + p.groups.length, 0);
      const X = new Float32Array(n * bins * C);
      const Y = new Float32Array(n * D);
      const subjects = new Int32Array(n);
      let at = 0;
      for (const p of prepared) {
        X.set(p.X, at * bins * C);
        Y.set(p.Y, at * D);
        subjects.fill(p.index, at, at + p.groups.length);
        at += p.groups.length;
      }
      const t0 = performance.now();
      const decoder = await fitMegDecoder(spec, { X, n, T: bins, C, Y, D, groups: prepared.flatMap((p) => p.groups), subjects, positions: o.dataset.positions });
      const fitMs = performance.now() - t0;
      for (const p of prepared) score(k, decoder, p, fitMs);
      decoder.dispose();
      continue;
    }
    for (const p of prepared) {
      const t0 = performance.now();
      const decoder = await fitMegDecoder(spec, { X: p.X, n: p.groups.length, T: bins, C, Y: p.Y, D, groups: p.groups, positions: o.dataset.positions });
      score(k, decoder, p, performance.now() - t0);
      decoder.dispose();
    }
  }
  for (const r of results) {
    const mean = (f: (s: MegSubjectResult) => number): number => r.subjects.reduce((a, s) => a + f(s), 0) / r.subjects.length;
    r.top1 = mean((s) => s.top1);
    r.top5 = mean((s) => s.top5);
    r.singleTop1 = mean((s) => s.singleTop1);
    r.singleTop5 = mean((s) => s.singleTop5);
    r.meanFitMs = mean((s) => s.fitMs);
  }
  const n = o.split.test.length;
  const best = results.reduce((a, b) => (b.top5 > a.top5 ? b : a));
  return {
    ...results[0],
    dataset: o.dataset.name,
    protocol: `${o.training === 'pooled' ? 'one decoder for all subjects, scored per subject' : 'per subject'}: trained on ${o.split.train.length} images (one epoch each), tested on ${n} held-out images (averaged repetitions; single epochs too); features ${bins} time bins x ${C} channels`,
    chance: Math.min(5, n) / n,
    chanceTop1: 1 / n,
    testImages: n,
    ...(o.ceiling ? { ceiling: o.ceiling } : {}),
    pipelines: results,
    best: best.pipeline,
  };
}
