/**
 * Cost and quality of the MEG image-retrieval baseline on this machine:
 * - ridge: seconds to fit X (n x p) -> 64-d embeddings with the default alpha grid (17 values,
 *   leave-one-group-out over pairs of samples), at n = 1000 and 2000 epochs of p = 12,240
 *   features (306 channels x 40 time bins), random data;
 * - synthetic MEG: seconds to generate the default set (2 subjects, 240 images, 306 channels at
 *   1 kHz, test images 12x) and its forward-model ceiling;
 * - retrieval: per subject, ridge trained on the training images' epochs (40 bins of 20 ms over
 *   0..0.8 s, baseline-corrected, channels scaled), tested on the 48 held-out images: top-1 and
 *   top-5 among them, from the average of each test image's 12 repetitions and from single
 *   epochs.
 *
 *   npm run build && node dist/bench/meg-retrieval.bench.js [--skip-ridge] [--skip-data]
 */
import { performance } from 'node:perf_hooks';
import { averageByImage, synthesizeMegDataset, templateCeiling } from '../devices/synthetic/meg-images.js';
import { Ridge } from '../src/ml/ridge.js';
import { EpochFeatures } from '../src/retrieval/epoch-features.js';
import { retrievalMetrics } from '../src/retrieval/top-k.js';
import { Random } from '../src/util/random.js';

function seconds(t0: number): string {
  return ((performance.now() - t0) / 1000).toFixed(1);
}

function ridgeTiming(n: number, p: number, d: number): void {
  const rng = new Random(n);
  const x = new Float32Array(n * p);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(n * d);
  for (let i = 0; i < y.length; i++) y[i] = rng.normal();
  const groups = Array.from({ length: n }, (_, i) => Math.floor(i / 2));
  const t0 = performance.now();
  const r = Ridge.fit(x, n, p, y, d, { groups });
  console.log(`ridge fit n=${n} p=${p} d=${d}, ${r.cv!.alphas.length} alphas, ${r.cv!.folds} folds: ${seconds(t0)} s`);
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  if (!args.has('--skip-ridge')) {
    ridgeTiming(1000, 12240, 64);
    ridgeTiming(2000, 12240, 64);
  }
  if (args.has('--skip-data')) return;
  let t0 = performance.now();
  const { dataset, gallery, split, world } = synthesizeMegDataset({ ceiling: false });
  console.log(`synthetic MEG (2 subjects x ${dataset.subjects[0].epochs.length} epochs, ${dataset.channels.length} channels at ${dataset.sampleRate} Hz): ${seconds(t0)} s`);
  t0 = performance.now();
  const ceiling = templateCeiling(dataset, world, split.test);
  console.log(
    `  forward-model ceiling: ${seconds(t0)} s; top-1 ${ceiling.top1.toFixed(3)} top-5 ${ceiling.top5.toFixed(3)} (averaged), ` +
      `${ceiling.singleTop1.toFixed(3)} / ${ceiling.singleTop5.toFixed(3)} (single epochs)`,
  );
  const nch = dataset.channels.length;
  const testGallery = gallery.subset(split.test);
  const trainIds = new Set(split.train);
  for (const s of dataset.subjects) {
    const train = s.epochs.filter((e) => trainIds.has(e.imageId));
    const feats = EpochFeatures.fit(train, nch, dataset.sampleRate);
    const x = feats.transformAll(train);
    const y = new Float32Array(train.length * gallery.dim);
    train.forEach((e, i) => y.set(gallery.embeddingOf(e.imageId), i * gallery.dim));
    t0 = performance.now();
    const ridge = Ridge.fit(x, train.length, feats.size, y, gallery.dim, { groups: train.map((e) => e.imageId) });
    const fit = seconds(t0);
    const q = new Float32Array(split.test.length * gallery.dim);
    averageByImage(s, split.test, nch).forEach((avg, i) => {
      ridge.predictDeviation(feats.transform({ data: avg, samples: s.epochs[0].samples, onset: s.epochs[0].onset }), q.subarray(i * gallery.dim, (i + 1) * gallery.dim));
    });
    const m = retrievalMetrics(q, split.test, testGallery);
    const single = s.epochs.filter((e) => !trainIds.has(e.imageId));
    const qs = new Float32Array(single.length * gallery.dim);
    single.forEach((e, i) => ridge.predictDeviation(feats.transform(e), qs.subarray(i * gallery.dim, (i + 1) * gallery.dim)));
    const ms = retrievalMetrics(
      qs,
      single.map((e) => e.imageId),
      testGallery,
    );
    console.log(
      `subject ${s.id}: ridge on ${train.length} epochs x ${feats.size} features (fit ${fit} s, alpha ${ridge.alpha.toExponential(2)}): ` +
        `averaged top-1 ${m.top1.toFixed(3)} top-5 ${m.top5.toFixed(3)}, single epochs top-1 ${ms.top1.toFixed(3)} top-5 ${ms.top5.toFixed(3)} ` +
        `(chance ${m.chanceTop1.toFixed(3)} / ${m.chanceTop5.toFixed(3)}, ${split.test.length} test images)`,
    );
  }
}

main();
