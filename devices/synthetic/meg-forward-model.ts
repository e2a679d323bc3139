import type { SensorPosition } from '../../src/stream/types.js';
import type { ChannelInfo } from '../../src/stream/types.js';
import { Gallery } from '../../src/retrieval/gallery.js';
import { Random } from '../../src/util/random.js';
import { subStreamSeed } from './noise-processes.js';

/**
 * The world behind neurorx's synthetic image-locked MEG: a gallery of images with embeddings, a
 * sensor array, and a forward model from an image's embedding to the evoked field it causes.
 * Shared by the streaming simulator (meg-stream.ts) and the dataset generator (meg-images.ts).
 *
 * Embeddings (`dim`, default 64): `categories` cluster centres (random unit vectors), each image
 * its centre plus isotropic spread of the same norm (`spread`, default 1), L2-normalised: images of
 * a category are alike (cosine ~0.5) but each has its own direction, so retrieval needs more than
 * the category.
 *
 * Sensors: `channels` (default 306) in Neuromag-like triplets at ceil(channels / 3) locations on
 * concentric rings over the unit disc (x right, y to the nose): per location a magnetometer
 * (`MEGxxx1`, unit T) and two planar gradiometers (`MEGxxx2` along x, `MEGxxx3` along y, unit T/m),
 * a last incomplete triplet keeping its first channels. Values are in SI units as MNE/FIF store
 * them: evoked fields of tens to ~200 fT (1e-14..2e-13 T) at magnetometers and a few pT/m at
 * gradiometers, the layout's unit length standing for 0.1 m of helmet.
 *
 * Sources are dipole-like blobs: at source position s with orientation n̂ and width w, a
 * magnetometer at x reads (x - s)·n̂ / w · exp(1/2 - |x - s|² / 2w²) (two lobes of opposite sign,
 * peak 1), a gradiometer its spatial derivative along its axis.
 *
 * Evoked response to an image (per presentation, onset at 0):
 * - Non-specific (the same for every image): an occipital ~100 ms peak (150 fT), a bilateral
 *   occipito-temporal ~170 ms peak (120 fT) and a sustained ~400 ms posterior field (60 fT).
 * - Image-specific, three components with their own sources and time course, a Gaussian bump:
 *   "low-level" (12 occipital sources, ~110 ms, 25 fT per unit, linear in the embedding),
 *   "category" (8 occipito-temporal sources, ~180 ms, 22 fT, saturating: tanh), "semantic" (12
 *   temporal and frontal sources, ~350 ms, 18 fT, rectifying: softplus). Source amplitudes are
 *   f(A_c e), e the image's embedding (unit norm) and A_c a fixed random N(0, 1) matrix per
 *   component (shared across subjects, perturbed by 20 % per subject): linear projections of the
 *   embedding, two of them bent by a mild nonlinearity. All three scale with `snr` (default 1).
 * Per subject: overall gain (±15 %), the head's rotation (~6°) and shift (~0.04) in the helmet (so
 * topographies differ between subjects), each component's latency (±8 ms) and the alpha
 * frequency. Per presentation: latency jitter (6, 12 and 30 ms for the three components) and
 * amplitude (±10 %). The nonlinearities and the jitter are what a linear decoder cannot fully
 * undo; a decoder that knew the model could (see `templateCeiling` in meg-images.ts).
 *
 * Noise (per subject and session): 12 background brain sources with 1/f (pink) time courses
 * (40 fT each at their peak sensor; together a spatially correlated 1/f field at every sensor),
 * an occipital alpha rhythm (two sources, ~10 Hz, 60 fT), and a white sensor noise floor of
 * 3 fT/√Hz (magnetometers) and 3 fT/cm/√Hz (gradiometers), so its per-sample level follows the
 * sampling rate.
 *
 * What the defaults give (bench/meg-retrieval.bench.ts, 2 subjects, 48 held-out images): the
 * forward-model ceiling retrieves every averaged test image first (top-1 1.0) and single epochs
 * at top-1 ~0.6, top-5 ~0.87; per-subject ridge on 40 time bins reaches top-1 ~0.3-0.55 and
 * top-5 ~0.6-0.85 on averaged epochs (chance 0.02 / 0.10). `snr` moves both.
 */

/** Layout unit length in metres (gradiometer values are per metre). */
export const HELMET_RADIUS_M = 0.1;
/** fT -> T. */
const FT = 1e-15;
const MAG_NOISE_FT_PER_RT_HZ = 3;
const GRAD_NOISE_FT_PER_CM_PER_RT_HZ = 3;
export const BACKGROUND_SOURCES = 12;
export const BACKGROUND_FT = 40;
export const ALPHA_FT = 60;

export interface MegWorldOptions {
  /** The world: gallery, sources, forward matrices (default 1). */
  seed?: number;
  /** Gallery size (default 240). */
  images?: number;
  /** Embedding dimension (default 64). */
  dim?: number;
  /** Embedding clusters (default 20). */
  categories?: number;
  /** Within-category spread relative to the centre (default 1). */
  spread?: number;
  /** Sensor channels (default 306 = 102 triplets). */
  channels?: number;
  /** Hz (default 1000). */
  sampleRate?: number;
  /** Multiplies the image-specific amplitudes (default 1). */
  snr?: number;
}

type Nonlinearity = 'linear' | 'saturating' | 'rectifying';

interface ComponentSpec {
  readonly name: string;
  /** Peak latency and Gaussian width, seconds. */
  readonly latency: number;
  readonly width: number;
  /** Per-presentation latency jitter (SD, s). */
  readonly trialJitter: number;
  readonly sources: number;
  /** Source region: centre (mirrored to both hemispheres when bilateral) and spread. */
  readonly x: number;
  readonly y: number;
  readonly spread: number;
  readonly bilateral: boolean;
  /** Peak field per unit of source amplitude, fT. */
  readonly fT: number;
  readonly nonlinearity: Nonlinearity;
}

const SPECIFIC: readonly ComponentSpec[] = [
  { name: 'low-level', latency: 0.11, width: 0.03, trialJitter: 0.006, sources: 12, x: 0, y: -0.7, spread: 0.22, bilateral: false, fT: 25, nonlinearity: 'linear' },
  { name: 'category', latency: 0.18, width: 0.04, trialJitter: 0.012, sources: 8, x: 0.5, y: -0.4, spread: 0.18, bilateral: true, fT: 22, nonlinearity: 'saturating' },
  { name: 'semantic', latency: 0.35, width: 0.08, trialJitter: 0.03, sources: 12, x: 0.55, y: 0.05, spread: 0.3, bilateral: true, fT: 18, nonlinearity: 'rectifying' },
];

const COMMON: readonly ComponentSpec[] = [
  { name: 'M100', latency: 0.1, width: 0.025, trialJitter: 0.006, sources: 2, x: 0, y: -0.75, spread: 0.1, bilateral: false, fT: 150, nonlinearity: 'linear' },
  { name: 'M170', latency: 0.17, width: 0.035, trialJitter: 0.012, sources: 2, x: 0.5, y: -0.45, spread: 0.08, bilateral: true, fT: 120, nonlinearity: 'linear' },
  { name: 'sustained', latency: 0.4, width: 0.12, trialJitter: 0.03, sources: 2, x: 0, y: -0.3, spread: 0.25, bilateral: false, fT: 60, nonlinearity: 'linear' },
];

interface Source {
  x: number;
  y: number;
  /** Orientation of the lobes' axis. */
  angle: number;
  width: number;
}

export interface ResolvedWorldOptions {
  readonly seed: number;
  readonly images: number;
  readonly dim: number;
  readonly categories: number;
  readonly spread: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly snr: number;
}

function resolve(opts: MegWorldOptions): ResolvedWorldOptions {
  const int = (v: number | undefined, def: number, what: string, min = 1): number => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) throw new Error(`synthetic MEG: ${what} must be an integer >= ${min}, got ${String(x)}`);
    return x;
  };
  const pos = (v: number | undefined, def: number, what: string, allowZero = false): number => {
    const x = v ?? def;
    if (!(Number.isFinite(x) && (x > 0 || (allowZero && x === 0)))) throw new Error(`synthetic MEG: ${what} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(x)}`);
    return x;
  };
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new Error(`synthetic MEG: seed must be an integer, got ${String(seed)}`);
  const images = int(opts.images, 240, 'images', 2);
  const categories = int(opts.categories, 20, 'categories');
  if (categories > images) throw new Error(`synthetic MEG: ${categories} categories for ${images} images`);
  return {
    seed,
    images,
    dim: int(opts.dim, 64, 'dim', 2),
    categories,
    spread: pos(opts.spread, 1, 'spread', true),
    channels: int(opts.channels, 306, 'channels'),
    sampleRate: pos(opts.sampleRate, 1000, 'sampleRate'),
    snr: pos(opts.snr, 1, 'snr', true),
  };
}

/** Sensor locations on rings over the unit disc, ring k holding a share proportional to its radius. */
export function ringLayout(locations: number): SensorPosition[] {
  if (locations === 1) return [{ x: 0, y: 0 }];
  const rings = Math.max(1, Math.round(Math.sqrt(locations / 3)));
  // A centre point, then ring k (1..rings) at radius 0.95 k / rings with ~k/Σk of the rest.
  const rest = locations - 1;
  const total = (rings * (rings + 1)) / 2;
  const counts = Array.from({ length: rings }, (_, k) => Math.floor((rest * (k + 1)) / total));
  let left = rest - counts.reduce((a, b) => a + b, 0);
  for (let k = rings - 1; left > 0; k = (k - 1 + rings) % rings, left--) counts[k]++;
  const out: SensorPosition[] = [{ x: 0, y: 0 }];
  counts.forEach((c, k) => {
    const r = (0.95 * (k + 1)) / rings;
    const offset = (k % 2) * (Math.PI / Math.max(c, 1));
    for (let i = 0; i < c; i++) {
      const th = offset + (2 * Math.PI * i) / c + Math.PI / 2;
      out.push({ x: r * Math.cos(th), y: r * Math.sin(th) });
    }
  });
  return out;
}

/** Channel descriptions and positions for `channels` sensors in triplets (mag, grad-x, grad-y). */
export function megSensors(channels: number): { channels: ChannelInfo[]; positions: SensorPosition[]; kinds: Int8Array; locationOf: Int32Array } {
  const locations = ringLayout(Math.ceil(channels / 3));
  const infos: ChannelInfo[] = [];
  const positions: SensorPosition[] = [];
  const kinds = new Int8Array(channels);
  const locationOf = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const l = Math.floor(c / 3);
    const kind = c % 3;
    const label = `MEG${String(l + 1).padStart(3, '0')}${kind + 1}`;
    infos.push(kind === 0 ? { label, type: 'mag', unit: 'T' } : { label, type: 'grad', unit: 'T/m' });
    positions.push(locations[l]);
    kinds[c] = kind;
    locationOf[c] = l;
  }
  return { channels: infos, positions, kinds, locationOf };
}

/** Field of a unit source at every channel, in fT (mags) and fT/m (grads). */
function sourcePattern(src: Source, positions: readonly SensorPosition[], kinds: Int8Array, out: Float64Array): Float64Array {
  const nx = Math.cos(src.angle);
  const ny = Math.sin(src.angle);
  const w = src.width;
  for (let c = 0; c < positions.length; c++) {
    const dx = positions[c].x - src.x;
    const dy = positions[c].y - src.y;
    const g = Math.exp(0.5 - (dx * dx + dy * dy) / (2 * w * w));
    const proj = (dx * nx + dy * ny) / w;
    if (kinds[c] === 0) {
      out[c] = proj * g;
    } else {
      // d/dx of proj·g = (n_x / w) g - proj·g·dx / w², per layout unit -> per metre.
      const along = kinds[c] === 1 ? dx : dy;
      const n = kinds[c] === 1 ? nx : ny;
      out[c] = ((n / w) * g - (proj * g * along) / (w * w)) / HELMET_RADIUS_M;
    }
  }
  return out;
}

function nonlinear(kind: Nonlinearity, v: number): number {
  if (kind === 'saturating') return Math.tanh(1.5 * v) / 1.2;
  if (kind === 'rectifying') return Math.log1p(Math.exp(2 * v)) - 0.8;
  return v;
}

/** One simulated person: how the world's sources project onto their sensors, and their noise. */
export interface MegSubjectModel {
  readonly subject: number;
  /** Per component (specific then common): per image (common: one row) the channel pattern, T or T/m at peak. */
  readonly patterns: readonly Float32Array[];
  /** Per component: peak latency for this subject, s. */
  readonly latency: Float64Array;
  /** Background sources' channel patterns per fT of source (sources x channels), T or T/m. */
  readonly background: Float32Array;
  /** Alpha sources' patterns per fT (2 x channels), T or T/m. */
  readonly alpha: Float32Array;
  readonly alphaFreq: number;
  /** White sensor noise SD per channel at the sampling rate, T or T/m. */
  readonly sensorNoise: Float32Array;
}

/** The gallery, sensors and forward model of one seed. */
export class MegWorld {
  readonly options: ResolvedWorldOptions;
  readonly gallery: Gallery;
  /** Category of every image (index into categoryNames). */
  readonly categoryOf: Int32Array;
  readonly channels: readonly ChannelInfo[];
  readonly positions: readonly SensorPosition[];
  private readonly kinds: Int8Array;
  /** Per specific component: the sources and the matrix A_c (sources x dim). */
  private readonly specific: { sources: Source[]; matrix: Float64Array }[];
  private readonly common: Source[][];
  private readonly subjects = new Map<number, MegSubjectModel>();

  constructor(opts: MegWorldOptions = {}) {
    const o = resolve(opts);
    this.options = o;
    const rng = new Random(subStreamSeed(o.seed, 0x3e6a11));
    // Gallery: category centres, images around them.
    const centres: Float64Array[] = [];
    for (let k = 0; k < o.categories; k++) centres.push(unitGaussian(rng, o.dim));
    this.categoryOf = new Int32Array(o.images);
    const items = [];
    const width = String(o.images).length;
    for (let i = 0; i < o.images; i++) {
      const k = i % o.categories;
      this.categoryOf[i] = k;
      const e = unitGaussian(rng, o.dim);
      for (let j = 0; j < o.dim; j++) e[j] = centres[k][j] + o.spread * e[j];
      items.push({ id: `img-${String(i + 1).padStart(Math.max(3, width), '0')}`, label: `category-${String(k + 1).padStart(2, '0')}`, embedding: e });
    }
    this.gallery = Gallery.fromItems(items, { model: `synthetic: ${o.categories} clusters in ${o.dim} dimensions, spread ${o.spread} (neurorx synthetic MEG, seed ${o.seed})` });
    const sensors = megSensors(o.channels);
    this.channels = sensors.channels;
    this.positions = sensors.positions;
    this.kinds = sensors.kinds;
    this.specific = SPECIFIC.map((spec) => {
      const sources = placeSources(rng, spec);
      const matrix = new Float64Array(spec.sources * o.dim);
      for (let i = 0; i < matrix.length; i++) matrix[i] = rng.normal();
      return { sources, matrix };
    });
    this.common = COMMON.map((spec) => placeSources(rng, spec));
  }

  /** Subject `s`'s forward model and noise (deterministic in the world seed and s). */
  subject(s: number): MegSubjectModel {
    if (!Number.isSafeInteger(s)) throw new Error(`synthetic MEG: subject must be an integer, got ${String(s)}`);
    const cached = this.subjects.get(s);
    if (cached) return cached;
    const o = this.options;
    const rng = new Random(subStreamSeed(subStreamSeed(o.seed, 0x5b1ec7), s));
    const gain = Math.exp(0.15 * rng.normal());
    const rot = (6 * Math.PI * rng.normal()) / 180;
    const shiftX = 0.04 * rng.normal();
    const shiftY = 0.04 * rng.normal();
    const move = (src: Source): Source => {
      const c = Math.cos(rot);
      const si = Math.sin(rot);
      return { x: c * src.x - si * src.y + shiftX, y: si * src.x + c * src.y + shiftY, angle: src.angle + rot + (10 * Math.PI * rng.normal()) / 180, width: src.width };
    };
    const nch = o.channels;
    const tmp = new Float64Array(nch);
    const patterns: Float32Array[] = [];
    const latency = new Float64Array(SPECIFIC.length + COMMON.length);
    SPECIFIC.forEach((spec, ci) => {
      const { sources, matrix } = this.specific[ci];
      const sourcePatterns = sources.map((src) => Float64Array.from(sourcePattern(move(src), this.positions, this.kinds, tmp)));
      // Subject's own A_c: the shared one plus 20 % of its own.
      const a = Float64Array.from(matrix, (v) => (v + 0.2 * rng.normal()) / Math.sqrt(1.04));
      const out = new Float32Array(o.images * nch);
      const amp = new Float64Array(spec.sources);
      for (let i = 0; i < o.images; i++) {
        const e = this.gallery.embedding(i);
        for (let k = 0; k < spec.sources; k++) {
          let v = 0;
          for (let j = 0; j < o.dim; j++) v += a[k * o.dim + j] * e[j];
          amp[k] = nonlinear(spec.nonlinearity, v) * spec.fT * o.snr * gain;
        }
        for (let c = 0; c < nch; c++) {
          let v = 0;
          for (let k = 0; k < spec.sources; k++) v += amp[k] * sourcePatterns[k][c];
          out[i * nch + c] = v * FT;
        }
      }
      patterns.push(out);
      latency[ci] = spec.latency + 0.008 * rng.normal();
    });
    COMMON.forEach((spec, ci) => {
      const out = new Float32Array(nch);
      for (const src of this.common[ci]) {
        sourcePattern(move(src), this.positions, this.kinds, tmp);
        for (let c = 0; c < nch; c++) out[c] += tmp[c] * spec.fT * gain * FT;
      }
      patterns.push(out);
      latency[SPECIFIC.length + ci] = spec.latency + 0.008 * rng.normal();
    });
    const background = new Float32Array(BACKGROUND_SOURCES * nch);
    for (let b = 0; b < BACKGROUND_SOURCES; b++) {
      const r = Math.sqrt(rng.uniform()) * 0.9;
      const th = 2 * Math.PI * rng.uniform();
      sourcePattern({ x: r * Math.cos(th), y: r * Math.sin(th), angle: 2 * Math.PI * rng.uniform(), width: 0.25 + 0.15 * rng.uniform() }, this.positions, this.kinds, tmp);
      for (let c = 0; c < nch; c++) background[b * nch + c] = tmp[c] * FT;
    }
    const alpha = new Float32Array(2 * nch);
    for (let b = 0; b < 2; b++) {
      sourcePattern({ x: (b === 0 ? -0.25 : 0.25) + 0.05 * rng.normal(), y: -0.65 + 0.05 * rng.normal(), angle: 2 * Math.PI * rng.uniform(), width: 0.3 }, this.positions, this.kinds, tmp);
      for (let c = 0; c < nch; c++) alpha[b * nch + c] = tmp[c] * FT;
    }
    const alphaFreq = 9 + 2 * rng.uniform();
    const sensorNoise = new Float32Array(nch);
    const band = Math.sqrt(o.sampleRate / 2);
    for (let c = 0; c < nch; c++) {
      // fT/cm -> fT/m: x100.
      sensorNoise[c] = (this.kinds[c] === 0 ? MAG_NOISE_FT_PER_RT_HZ : GRAD_NOISE_FT_PER_CM_PER_RT_HZ * 100) * band * FT;
    }
    const model: MegSubjectModel = { subject: s, patterns, latency, background, alpha, alphaFreq, sensorNoise };
    this.subjects.set(s, model);
    return model;
  }

  /**
   * The noise-free, jitter-free evoked response of subject `s` to image `index` over `samples`
   * samples, sample `onset` at the image onset (sample-major, channels' units). Common components
   * included unless `specificOnly`.
   */
  template(s: number, index: number, samples: number, onset: number, specificOnly = false, out = new Float32Array(samples * this.options.channels)): Float32Array {
    const m = this.subject(s);
    const nch = this.options.channels;
    const rate = this.options.sampleRate;
    out.fill(0);
    const comps = specificOnly ? SPECIFIC.length : SPECIFIC.length + COMMON.length;
    for (let ci = 0; ci < comps; ci++) {
      const spec = ci < SPECIFIC.length ? SPECIFIC[ci] : COMMON[ci - SPECIFIC.length];
      const pattern = m.patterns[ci];
      const po = ci < SPECIFIC.length ? index * nch : 0;
      for (let t = 0; t < samples; t++) {
        const h = bump((t - onset) / rate, m.latency[ci], spec.width);
        if (h < 1e-6) continue;
        for (let c = 0; c < nch; c++) out[t * nch + c] += h * pattern[po + c];
      }
    }
    return out;
  }
}

/** Gaussian bump of the component time courses. */
export function bump(t: number, latency: number, width: number): number {
  const z = (t - latency) / width;
  return z > -6 && z < 6 ? Math.exp(-0.5 * z * z) : 0;
}

function unitGaussian(rng: Random, dim: number): Float64Array {
  const v = new Float64Array(dim);
  let ss = 0;
  for (let j = 0; j < dim; j++) {
    v[j] = rng.normal();
    ss += v[j] * v[j];
  }
  const inv = 1 / Math.sqrt(ss);
  for (let j = 0; j < dim; j++) v[j] *= inv;
  return v;
}

function placeSources(rng: Random, spec: ComponentSpec): Source[] {
  return Array.from({ length: spec.sources }, (_, k) => {
    const side = spec.bilateral ? (k % 2 === 0 ? -1 : 1) : 1;
    return {
      x: side * spec.x + spec.spread * rng.normal(),
      y: spec.y + spec.spread * rng.normal(),
      angle: 2 * Math.PI * rng.uniform(),
      width: 0.18 + 0.1 * rng.uniform(),
    };
  });
}

/** Specific components' count (patterns[0 .. SPECIFIC_COMPONENTS) are per image). */
export const SPECIFIC_COMPONENTS = SPECIFIC.length;
export const COMPONENT_WIDTHS: readonly number[] = [...SPECIFIC, ...COMMON].map((c) => c.width);
export const COMPONENT_JITTER: readonly number[] = [...SPECIFIC, ...COMMON].map((c) => c.trialJitter);
