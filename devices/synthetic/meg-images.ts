import type { ImageEpoch, MegDataset, MegSubject } from '../datasets/meg/meg-dataset.js';
import type { Gallery } from '../../src/retrieval/gallery.js';
import { Random } from '../../src/util/random.js';
import { COMPONENT_WIDTHS, MegWorld, SPECIFIC_COMPONENTS, bump, type MegWorldOptions } from './meg-forward-model.js';
import { MegImageSimulator } from './meg-stream.js';
import { subStreamSeed } from './noise-processes.js';

/**
 * A seeded synthetic image-MEG dataset with a known forward model (meg-forward-model.ts), for
 * image-retrieval decoders without THINGS-MEG: `synthesizeMegDataset(opts)` gives image-locked
 * epochs per subject, the gallery of image embeddings, and which images are held out.
 *
 * Protocol (THINGS-MEG-like): a random `testFraction` of the gallery (default 20 %) are test
 * images, never shown in training; every subject sees each training image once and each test
 * image `testRepetitions` times (default 12, as THINGS-MEG's 200 test images), all in a shuffled
 * order of their own, one image every ~1 s (meg-stream.ts). Epochs span `tmin`..`tmax` around the
 * onset (default -0.2..0.8 s, both ends included). At evaluation the repetitions of a test image
 * are averaged, and retrieval is among the test images.
 *
 * Size: the defaults (240 images, 306 channels, 1000 Hz, 2 subjects) are 2 x (192 + 48 x 12) =
 * 1536 epochs of 1001 x 306 samples, ~1.9 GB of Float32, generated in ~20 s on a 2-core machine
 * (plus ~7 s for the ceiling); for tests use fewer channels, a lower rate or fewer repetitions
 * (64 channels at 200 Hz and 120 images: ~1 s). Generation streams the recording a second at a
 * time into the epochs (no continuous copy is kept).
 *
 * `ceiling` (unless `ceiling: false`): retrieval by a decoder that knows the forward model, as a
 * reference for what the data allow. For every subject and test image, the average of its
 * repetitions is compared with the noise-free, jitter-free response template of every test image
 * (post-onset samples, each channel scaled by its noise level measured on the pre-onset
 * baselines); the nearest template is the decision. The same for single test epochs
 * (`singleTop1`, `singleTop5`). It ignores the noise's spatial and temporal correlations, so it
 * is an informed reference rather than a strict bound.
 */

export interface SyntheticMegOptions extends MegWorldOptions {
  /** Simulated subjects 1..subjects (default 2). */
  subjects?: number;
  /** Held-out share of the gallery (default 0.2). */
  testFraction?: number;
  /** Presentations of each test image per subject (default 12). */
  testRepetitions?: number;
  /** Epoch window around the onset, s (default -0.2 and 0.8). */
  tmin?: number;
  tmax?: number;
  /** Onset-to-onset interval and its jitter, s (default 1 and 0.1). */
  soa?: number;
  soaJitter?: number;
  /** Compute the forward-model retrieval ceiling (default true). */
  ceiling?: boolean;
}

export interface ImageSplit {
  /** Images shown once each, for training. */
  readonly train: readonly string[];
  /** Held-out images (repeated), never in training. */
  readonly test: readonly string[];
}

export interface RetrievalCeiling {
  /** Repetition-averaged test epochs. */
  readonly top1: number;
  readonly top5: number;
  /** Single test epochs. */
  readonly singleTop1: number;
  readonly singleTop5: number;
  /** Test images retrieved among (chance: 1/n and 5/n). */
  readonly candidates: number;
  readonly method: string;
}

export interface SyntheticMeg {
  readonly dataset: MegDataset;
  readonly gallery: Gallery;
  readonly split: ImageSplit;
  readonly ceiling?: RetrievalCeiling;
  /** The world (forward model) that made it. */
  readonly world: MegWorld;
}

export function synthesizeMegDataset(opts: SyntheticMegOptions = {}): SyntheticMeg {
  const world = new MegWorld(opts);
  const w = world.options;
  const subjects = opts.subjects ?? 2;
  if (!Number.isInteger(subjects) || subjects < 1) throw new Error(`synthetic MEG: subjects must be a positive integer, got ${String(subjects)}`);
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`synthetic MEG: testFraction must be in (0, 1), got ${String(testFraction)}`);
  const reps = opts.testRepetitions ?? 12;
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`synthetic MEG: testRepetitions must be a positive integer, got ${String(reps)}`);
  const tmin = opts.tmin ?? -0.2;
  const tmax = opts.tmax ?? 0.8;
  if (!(Number.isFinite(tmin) && Number.isFinite(tmax) && tmin <= 0 && tmax > 0)) throw new Error(`synthetic MEG: need tmin <= 0 < tmax, got ${tmin}..${tmax}`);
  const rate = w.sampleRate;
  const before = Math.round(-tmin * rate);
  const samples = before + Math.round(tmax * rate) + 1;
  const ids = world.gallery.ids;

  const rng = new Random(subStreamSeed(w.seed, 0x7e57));
  const order = rng.shuffle(Array.from({ length: w.images }, (_, i) => i));
  const nTest = Math.min(w.images - 1, Math.max(1, Math.round(testFraction * w.images)));
  const testIdx = order.slice(0, nTest).sort((a, b) => a - b);
  const trainIdx = order.slice(nTest).sort((a, b) => a - b);
  const split: ImageSplit = { train: trainIdx.map((i) => ids[i]), test: testIdx.map((i) => ids[i]) };

  const nch = w.channels;
  const out: MegSubject[] = [];
  for (let s = 1; s <= subjects; s++) {
    const seqRng = new Random(subStreamSeed(subStreamSeed(w.seed, 0x5e9), s));
    const sequence = seqRng.shuffle([...split.train, ...split.test.flatMap((id) => Array<string>(reps).fill(id))]);
    const sim = new MegImageSimulator({ world, subject: s, sequence, soa: opts.soa, soaJitter: opts.soaJitter, leadIn: Math.max(1, -tmin + 0.5) });
    const shows = sim.firstPresentations(sequence.length);
    const epochs = shows.map((p) => ({ start: p.sample - before, data: new Float32Array(samples * nch), imageId: ids[p.image] }));
    const end = epochs[epochs.length - 1].start + samples;
    const chunk = Math.max(1, Math.round(rate));
    const buf = new Float32Array(chunk * nch);
    let first = 0;
    for (let g0 = 0; g0 < end; g0 += chunk) {
      const n = Math.min(chunk, end - g0);
      sim.nextInto(n, buf);
      const g1 = g0 + n;
      while (first < epochs.length && epochs[first].start + samples <= g0) first++;
      for (let e = first; e < epochs.length && epochs[e].start < g1; e++) {
        const ep = epochs[e];
        const from = Math.max(g0, ep.start);
        const to = Math.min(g1, ep.start + samples);
        if (to <= from) continue;
        ep.data.set(buf.subarray((from - g0) * nch, (to - g0) * nch), (from - ep.start) * nch);
      }
    }
    const imageEpochs: ImageEpoch[] = epochs.map((ep) => ({ imageId: ep.imageId, data: ep.data, samples, onset: before }));
    out.push({ id: String(s), epochs: imageEpochs });
  }
  const dataset: MegDataset = { name: 'synthetic-meg', channels: world.channels, positions: world.positions, sampleRate: rate, subjects: out };
  const ceiling = opts.ceiling === false ? undefined : templateCeiling(dataset, world, split.test);
  return { dataset, gallery: world.gallery, split, ceiling, world };
}

/**
 * Which images are held out: those presented more than once to some subject (THINGS-MEG's test
 * images are the repeated ones; so are the synthetic set's). A dataset without repetitions is
 * split at random instead: a seeded `testFraction` (default 0.2) of its images. Ids are sorted.
 */
export function split(dataset: MegDataset, opts: { testFraction?: number; seed?: number } = {}): ImageSplit {
  const all = new Set<string>();
  const repeated = new Set<string>();
  for (const subject of dataset.subjects) {
    const seen = new Set<string>();
    for (const ep of subject.epochs) {
      all.add(ep.imageId);
      if (seen.has(ep.imageId)) repeated.add(ep.imageId);
      seen.add(ep.imageId);
    }
  }
  const sorted = [...all].sort();
  if (repeated.size > 0) return { train: sorted.filter((id) => !repeated.has(id)), test: sorted.filter((id) => repeated.has(id)) };
  const fraction = opts.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`split: testFraction must be in (0, 1), got ${String(fraction)}`);
  const shuffled = new Random(opts.seed ?? 1).shuffle([...sorted]);
  const nTest = Math.min(sorted.length - 1, Math.max(1, Math.round(fraction * sorted.length)));
  const test = new Set(shuffled.slice(0, nTest));
  return { train: sorted.filter((id) => !test.has(id)), test: sorted.filter((id) => test.has(id)) };
}

/** Mean epoch of each image among `ids` for one subject (samples x channels), in the order of `ids`. */
export function averageByImage(subject: MegSubject, ids: readonly string[], channels: number): Float32Array[] {
  const sums = new Map<string, { sum: Float64Array; count: number }>();
  for (const id of ids) sums.set(id, { sum: new Float64Array(0), count: 0 });
  for (const ep of subject.epochs) {
    const s = sums.get(ep.imageId);
    if (!s) continue;
    if (s.count === 0) s.sum = new Float64Array(ep.samples * channels);
    else if (s.sum.length !== ep.samples * channels) throw new Error(`average: epochs of "${ep.imageId}" differ in length`);
    for (let i = 0; i < s.sum.length; i++) s.sum[i] += ep.data[i];
    s.count++;
  }
  return ids.map((id) => {
    const s = sums.get(id)!;
    if (s.count === 0) throw new Error(`average: subject ${subject.id} has no epoch of "${id}"`);
    return Float32Array.from(s.sum, (v) => v / s.count);
  });
}

/**
 * The forward-model retrieval reference described above (mean over subjects), for the
 * repetition-averaged test epochs and for single test epochs. Distances use every k-th sample
 * (k = rate / 200 rounded: the evoked fields are slow) after the onset.
 */
export function templateCeiling(dataset: MegDataset, world: MegWorld, testIds: readonly string[]): RetrievalCeiling {
  const nch = dataset.channels.length;
  const n = testIds.length;
  const step = Math.max(1, Math.round(dataset.sampleRate / 200));
  const position = new Map(testIds.map((id, i) => [id, i]));
  let top1 = 0;
  let top5 = 0;
  let singleTop1 = 0;
  let singleTop5 = 0;
  let singles = 0;
  for (const subject of dataset.subjects) {
    const s = Number(subject.id);
    const { samples, onset } = subject.epochs[0];
    // Per-channel noise level from the baselines.
    const sd = new Float64Array(nch);
    let count = 0;
    for (const ep of subject.epochs) {
      for (let t = 0; t < ep.onset; t++)
        for (let c = 0; c < nch; c++) {
          const v = ep.data[t * nch + c];
          sd[c] += v * v;
        }
      count += ep.onset;
    }
    for (let c = 0; c < nch; c++) sd[c] = count > 0 && sd[c] > 0 ? Math.sqrt(sd[c] / count) : 1;
    // Templates are Σ_c h_c(t) P_jc[ch] (component time courses times channel patterns), so with
    // q̃ and T̃ the query and template scaled by sd, |q̃ - T̃_j|² = |q̃|² - 2 Σ_c G_c · P̃_jc + |T̃_j|²
    // where G_c[ch] = Σ_t q̃[t, ch] h_c(t): a few channel vectors per query instead of a full
    // product with every template.
    const m = world.subject(s);
    const comps = COMPONENT_WIDTHS.length;
    const times: number[] = [];
    for (let t = onset; t < samples; t += step) times.push(t);
    const h = times.map((t) => Float64Array.from({ length: comps }, (_, c) => bump((t - onset) / dataset.sampleRate, m.latency[c], COMPONENT_WIDTHS[c])));
    const scaled = new Float64Array(n * comps * nch);
    testIds.forEach((id, j) => {
      const g = world.gallery.indexOf(id);
      for (let c = 0; c < comps; c++) {
        const po = c < SPECIFIC_COMPONENTS ? g * nch : 0;
        for (let ch = 0; ch < nch; ch++) scaled[(j * comps + c) * nch + ch] = m.patterns[c][po + ch] / sd[ch];
      }
    });
    const norms = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let ss = 0;
      for (const hk of h) {
        for (let ch = 0; ch < nch; ch++) {
          let v = 0;
          for (let c = 0; c < comps; c++) v += hk[c] * scaled[(j * comps + c) * nch + ch];
          ss += v * v;
        }
      }
      norms[j] = ss;
    }
    const gq = new Float64Array(comps * nch);
    const rankOfTruth = (data: Float32Array, truth: number): number => {
      gq.fill(0);
      times.forEach((t, k) => {
        const hk = h[k];
        for (let ch = 0; ch < nch; ch++) {
          const v = data[t * nch + ch] / sd[ch];
          for (let c = 0; c < comps; c++) gq[c * nch + ch] += v * hk[c];
        }
      });
      const score = (j: number): number => {
        let dot = 0;
        for (let i = 0; i < comps * nch; i++) dot += gq[i] * scaled[j * comps * nch + i];
        return norms[j] - 2 * dot;
      };
      const own = score(truth);
      let rank = 0;
      for (let j = 0; j < n; j++) if (j !== truth && score(j) < own) rank++;
      return rank;
    };
    averageByImage(subject, testIds, nch).forEach((mean, i) => {
      const r = rankOfTruth(mean, i);
      if (r < 1) top1++;
      if (r < 5) top5++;
    });
    for (const ep of subject.epochs) {
      const i = position.get(ep.imageId);
      if (i === undefined) continue;
      const r = rankOfTruth(ep.data, i);
      if (r < 1) singleTop1++;
      if (r < 5) singleTop5++;
      singles++;
    }
  }
  const total = n * dataset.subjects.length;
  return {
    top1: top1 / total,
    top5: top5 / total,
    singleTop1: singles > 0 ? singleTop1 / singles : NaN,
    singleTop5: singles > 0 ? singleTop5 / singles : NaN,
    candidates: n,
    method: 'nearest noise-free template of the known forward model (post-onset, channels scaled by their baseline noise)',
  };
}
