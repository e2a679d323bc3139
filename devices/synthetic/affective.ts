import type { EmotionDataset, EmotionSubject, EmotionTrial } from '../datasets/emotion/emotion-dataset.js';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, Marker, StreamInfo } from '../../src/stream/types.js';
import { Random } from '../../src/util/random.js';
import { PinkNoiseBank, resonator, subStreamSeed } from './noise-processes.js';

/**
 * Simulated affective EEG: a subject watches emotional clips, each after a neutral baseline, and
 * rates its valence and arousal on 1-5 (DREAMER's protocol and montage: the 14 channels of an
 * Emotiv EPOC at 128 Hz). For the emotion demo, tests and benchmarks without a licensed dataset.
 *
 * Signal model, per channel (µV): pink (1/f) background from three broad shared sources plus a
 * local process, white sensor noise, and four rhythms (theta ~6 Hz, alpha ~10 Hz, beta ~20 Hz,
 * gamma ~38 Hz), each narrow-band noise (a resonator on white noise) under a slow random amplitude
 * modulation. The emotional state (latent valence v and arousal a in about [-1, 1]) scales the
 * rhythm amplitudes, following the classic findings:
 * - valence through frontal alpha asymmetry: positive valence lowers left-frontal alpha and raises
 *   right-frontal alpha (more left-frontal activation), weighted by how frontal the electrode is;
 * - arousal through alpha suppression (everywhere) and more beta and gamma power (most at frontal
 *   and temporal sites).
 * Effect sizes, rhythm amplitudes per channel and band, the alpha frequency and electrode gains
 * belong to the *subject*, so subjects differ as real ones do and a decoder must normalise per
 * subject; the latent state fluctuates around the rating (self-reports are noisy) and builds up
 * over the first seconds of each clip. `seed` drives the noise and the clip order only.
 *
 * Everything advances sample by sample, so `next(1)` N times equals `next(N)` bit for bit.
 */

export const AFFECTIVE_CHANNELS: readonly string[] = ['AF3', 'F7', 'F3', 'FC5', 'T7', 'P7', 'O1', 'O2', 'P8', 'T8', 'FC6', 'F4', 'F8', 'AF4'];
export const AFFECTIVE_SAMPLE_RATE = 128;
export const RATING_LEVELS = 5;

/** Per channel: side (-1 left, +1 right), frontal weight (asymmetry), fronto-temporal weight (beta/gamma), posterior weight (alpha). */
const SITES: Readonly<Record<string, readonly [number, number, number, number]>> = {
  AF3: [-1, 1, 0.8, 0.1],
  F7: [-1, 0.8, 1, 0.1],
  F3: [-1, 1, 0.8, 0.2],
  FC5: [-1, 0.5, 0.9, 0.3],
  T7: [-1, 0.15, 1, 0.4],
  P7: [-1, 0, 0.4, 0.8],
  O1: [-1, 0, 0.2, 1],
  O2: [1, 0, 0.2, 1],
  P8: [1, 0, 0.4, 0.8],
  T8: [1, 0.15, 1, 0.4],
  FC6: [1, 0.5, 0.9, 0.3],
  F4: [1, 1, 0.8, 0.2],
  F8: [1, 0.8, 1, 0.1],
  AF4: [1, 1, 0.8, 0.1],
};

const THETA = 0;
const ALPHA = 1;
const BETA = 2;
const GAMMA = 3;
const RHYTHMS = 4;
/** Resonator bandwidths (Hz) of theta, alpha, beta, gamma. */
const BANDWIDTH = [2, 1.5, 8, 10];
const SHARED_SOURCES = 3;
const SHARED_UV = 8;
const LOCAL_UV = 5;
const SENSOR_NOISE_UV = 1;
const MODULATION_TAU = 2.5;
const MODULATION_DEPTH = 0.2;
/** Seconds over which the emotional state builds up after a clip starts (raised cosine). */
const ONSET = 3;
/** Spread of the latent state around the rated level (on the [-1, 1] scale). */
const REPORT_NOISE = 0.2;
const WARM_UP = 8;

export interface AffectiveOptions {
  /** Noise and clip order. */
  seed: number;
  /** The simulated person (rhythm amplitudes, effect sizes). Default 1. */
  subject?: number;
  /** Neutral baseline before each clip, seconds (default 6). */
  baselineSeconds?: number;
  /** Clip length, seconds (default 30). */
  clipSeconds?: number;
  /**
   * Length of the session's first baseline, seconds, when longer than `baselineSeconds`: the
   * resting period a live session records its normalisation baseline in (default 0).
   */
  leadInSeconds?: number;
}

interface SubjectModel {
  /** channels x rhythms amplitude (µV). */
  amplitude: Float64Array;
  freq: Float64Array;
  /** Effect sizes (log-amplitude per unit of latent state). */
  valence: number;
  arousalAlpha: number;
  arousalBeta: number;
  arousalGamma: number;
  /** channels x shared sources. */
  mixing: Float64Array;
  gain: Float64Array;
}

function subjectModel(subject: number): SubjectModel {
  const rng = new Random(subStreamSeed(subject, 0xaf5ec7));
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();
  const nch = AFFECTIVE_CHANNELS.length;
  const amplitude = new Float64Array(nch * RHYTHMS);
  const base = [u(3, 5), 0, u(2, 3), u(0.8, 1.3)];
  AFFECTIVE_CHANNELS.forEach((label, c) => {
    const [, , , posterior] = SITES[label];
    for (let r = 0; r < RHYTHMS; r++) {
      const b = r === ALPHA ? u(3, 5) + 6 * posterior : base[r];
      amplitude[c * RHYTHMS + r] = b * Math.exp(0.25 * rng.normal());
    }
  });
  const alpha = u(9, 11);
  const freq = Float64Array.from([u(5, 7), alpha, u(18, 22), u(35, 40)]);
  const mixing = new Float64Array(nch * SHARED_SOURCES);
  for (let i = 0; i < mixing.length; i++) mixing[i] = 0.6 + 0.4 * rng.uniform();
  const gain = new Float64Array(nch);
  for (let c = 0; c < nch; c++) gain[c] = Math.exp(0.15 * rng.normal());
  return { amplitude, freq, valence: u(0.15, 0.35), arousalAlpha: u(0.15, 0.35), arousalBeta: u(0.15, 0.35), arousalGamma: u(0.2, 0.4), mixing, gain };
}

/** One clip of the schedule: where its baseline and clip start, its ratings and latent state. */
export interface AffectiveClip {
  readonly baselineStart: number;
  readonly clipStart: number;
  readonly clipEnd: number;
  /** Ratings 1-5. */
  readonly valence: number;
  readonly arousal: number;
  /** Latent state on [-1, 1] scales (rating mapped linearly, plus report noise). */
  readonly latentValence: number;
  readonly latentArousal: number;
}

/** The seeded clip order: valence and arousal levels each cycle through 1-5 in shuffled blocks. */
class ClipSchedule {
  private readonly rng: Random;
  private valences: number[] = [];
  private arousals: number[] = [];
  private cursor = 0;

  constructor(
    seed: number,
    private readonly baseline: number,
    private readonly clip: number,
    private readonly leadIn: number,
  ) {
    this.rng = new Random(subStreamSeed(seed, 0xc11b5));
  }

  next(): AffectiveClip {
    const rng = this.rng;
    const levels = (): number[] => rng.shuffle([1, 2, 3, 4, 5]);
    if (this.valences.length === 0) this.valences = levels();
    if (this.arousals.length === 0) this.arousals = levels();
    const valence = this.valences.pop()!;
    const arousal = this.arousals.pop()!;
    const latent = (r: number): number => Math.max(-1.3, Math.min(1.3, (r - 3) / 2 + REPORT_NOISE * rng.normal()));
    const baselineStart = this.cursor;
    const clipStart = baselineStart + (baselineStart === 0 ? Math.max(this.baseline, this.leadIn) : this.baseline);
    const clipEnd = clipStart + this.clip;
    this.cursor = clipEnd;
    return { baselineStart, clipStart, clipEnd, valence, arousal, latentValence: latent(valence), latentArousal: latent(arousal) };
  }
}

function checkPositive(v: number, what: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`synthetic emotion: ${what} must be a positive number, got ${String(v)}`);
  return v;
}

/** An endless simulated affective session: baseline, clip, baseline, clip, ... */
export class AffectiveSimulator {
  readonly info: StreamInfo;
  readonly rate = AFFECTIVE_SAMPLE_RATE;

  private readonly nch = AFFECTIVE_CHANNELS.length;
  private readonly model: SubjectModel;
  private readonly schedule: ClipSchedule;
  private readonly newSchedule: () => ClipSchedule;
  private readonly noise: Random;
  /** Pink noise: processes [shared sources..., one per channel]. */
  private readonly pinkNoise: PinkNoiseBank;
  private readonly a1: Float64Array;
  private readonly a2: Float64Array;
  private readonly b: Float64Array;
  private readonly state: Float64Array;
  private readonly modulation: Float64Array;
  private readonly modPole: number;
  private readonly modInput: number;
  /** Emotional gain of each channel x rhythm for the current sample (scratch). */
  private readonly emotionGain: Float64Array;
  private readonly shared = new Float64Array(SHARED_SOURCES);
  private readonly onsetSamples: number;
  private sample = 0;
  private clip: AffectiveClip;
  private lastValence = 0;
  private lastArousal = 0;

  constructor(opts: AffectiveOptions) {
    if (!Number.isSafeInteger(opts.seed)) throw new Error(`synthetic emotion: seed must be an integer, got ${String(opts.seed)}`);
    const subject = opts.subject ?? 1;
    if (!Number.isSafeInteger(subject)) throw new Error(`synthetic emotion: subject must be an integer, got ${String(subject)}`);
    const rate = this.rate;
    const baseline = Math.round(checkPositive(opts.baselineSeconds ?? 6, 'baselineSeconds') * rate);
    const clip = Math.round(checkPositive(opts.clipSeconds ?? 30, 'clipSeconds') * rate);
    const leadIn = opts.leadInSeconds ?? 0;
    if (!(Number.isFinite(leadIn) && leadIn >= 0)) throw new Error(`synthetic emotion: leadInSeconds must be a non-negative number, got ${String(leadIn)}`);
    const channels: ChannelInfo[] = AFFECTIVE_CHANNELS.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
    this.info = { name: 'synthetic emotion', type: 'EEG', sourceId: `synthetic:emotion?seed=${opts.seed}&subject=${subject}`, channels, sampleRate: rate };
    this.model = subjectModel(subject);
    this.newSchedule = () => new ClipSchedule(opts.seed, baseline, clip, Math.round(leadIn * rate));
    this.schedule = this.newSchedule();
    this.clip = this.schedule.next();
    this.noise = new Random(subStreamSeed(opts.seed ^ Math.imul(subject, 0x27d4eb2d), 0x4015e));
    this.onsetSamples = Math.round(ONSET * rate);

    this.pinkNoise = new PinkNoiseBank(rate, [...Array<number>(SHARED_SOURCES).fill(SHARED_UV), ...Array<number>(this.nch).fill(LOCAL_UV)]);

    const n = this.nch * RHYTHMS;
    this.a1 = new Float64Array(n);
    this.a2 = new Float64Array(n);
    this.b = new Float64Array(n);
    for (let c = 0; c < this.nch; c++) {
      for (let r = 0; r < RHYTHMS; r++) {
        const i = c * RHYTHMS + r;
        const { a1, a2, b } = resonator(this.model.freq[r], BANDWIDTH[r], rate, this.model.amplitude[i]);
        this.a1[i] = a1;
        this.a2[i] = a2;
        this.b[i] = b;
      }
    }
    this.state = new Float64Array(n * 2);
    this.modPole = Math.exp(-1 / (MODULATION_TAU * rate));
    this.modInput = Math.sqrt(1 - this.modPole ** 2);
    this.modulation = new Float64Array(n);
    for (let i = 0; i < n; i++) this.modulation[i] = this.noise.normal();
    this.emotionGain = new Float64Array(n).fill(1);
    const scratch = new Float32Array(this.nch);
    for (let s = Math.round(WARM_UP * rate); s > 0; s--) this.render(scratch, 0);
  }

  /** The clip under way (or whose baseline is under way) at the next sample. */
  get currentClip(): AffectiveClip {
    return this.clip;
  }

  /**
   * The next `n` samples (sample-major) and the markers among them: "baseline" where a baseline
   * starts, "clip valence=V arousal=A" (duration: the clip) where a clip starts. Marker times are
   * seconds since the first sample.
   */
  next(n: number): { data: Float32Array; markers: Marker[] } {
    if (!Number.isInteger(n) || n < 0) throw new Error(`synthetic emotion: sample count must be a non-negative integer, got ${String(n)}`);
    const nch = this.nch;
    const data = new Float32Array(n * nch);
    const markers: Marker[] = [];
    for (let s = 0; s < n; s++) {
      const g = this.sample;
      if (g === this.clip.clipEnd) this.clip = this.schedule.next();
      const clip = this.clip;
      if (g === clip.baselineStart) markers.push({ time: g / this.rate, value: 'baseline', duration: (clip.clipStart - clip.baselineStart) / this.rate });
      if (g === clip.clipStart) {
        markers.push({ time: g / this.rate, value: `clip valence=${clip.valence} arousal=${clip.arousal}`, duration: (clip.clipEnd - clip.clipStart) / this.rate });
      }
      const into = g - clip.clipStart;
      const intensity = into < 0 ? 0 : into >= this.onsetSamples ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * into) / this.onsetSamples);
      this.setEmotion(intensity * clip.latentValence, intensity * clip.latentArousal);
      this.render(data, s * nch);
      this.sample = g + 1;
    }
    return { data, markers };
  }

  /** The first `clips` clips of the session (the schedule depends only on the seed). */
  firstClips(clips: number): AffectiveClip[] {
    const probe = this.newSchedule();
    return Array.from({ length: clips }, () => probe.next());
  }

  private setEmotion(v: number, a: number): void {
    if (v === this.lastValence && a === this.lastArousal) return;
    this.lastValence = v;
    this.lastArousal = a;
    const m = this.model;
    const g = this.emotionGain;
    for (let c = 0; c < this.nch; c++) {
      const [side, frontal, frontoTemporal] = SITES[AFFECTIVE_CHANNELS[c]];
      const i = c * RHYTHMS;
      g[i + THETA] = 1;
      g[i + ALPHA] = Math.exp(side * m.valence * frontal * v - m.arousalAlpha * a);
      g[i + BETA] = Math.exp(m.arousalBeta * a * (0.5 + 0.5 * frontoTemporal));
      g[i + GAMMA] = Math.exp(m.arousalGamma * a * (0.4 + 0.6 * frontoTemporal));
    }
  }

  private render(out: Float32Array, o: number): void {
    const rng = this.noise;
    for (let j = 0; j < SHARED_SOURCES; j++) this.shared[j] = this.pinkNoise.step(j, rng.normal());
    const m = this.model;
    const mp = this.modPole;
    const mi = this.modInput;
    for (let c = 0; c < this.nch; c++) {
      let v = this.pinkNoise.step(SHARED_SOURCES + c, rng.normal());
      for (let j = 0; j < SHARED_SOURCES; j++) v += m.mixing[c * SHARED_SOURCES + j] * this.shared[j];
      for (let r = 0; r < RHYTHMS; r++) {
        const i = c * RHYTHMS + r;
        const st = i * 2;
        const x = this.a1[i] * this.state[st] + this.a2[i] * this.state[st + 1] + this.b[i] * rng.normal();
        this.state[st + 1] = this.state[st];
        this.state[st] = x;
        const mod = mp * this.modulation[i] + mi * rng.normal();
        this.modulation[i] = mod;
        v += x * Math.exp(MODULATION_DEPTH * mod) * this.emotionGain[i];
      }
      out[o + c] = v * m.gain[c] + SENSOR_NOISE_UV * rng.normal();
    }
  }
}

export interface AffectiveDatasetOptions {
  /** Simulated subjects 1..subjects (default 16). */
  subjects?: number;
  /** Clips per subject (default 18, as DREAMER). */
  clips?: number;
  /** Dataset seed: each subject's session noise derives from it (default 1). */
  seed?: number;
  baselineSeconds?: number;
  clipSeconds?: number;
}

/**
 * A DREAMER-shaped synthetic dataset: `subjects` people, each watching `clips` clips with a
 * neutral baseline before each, ratings 1-5 of valence and arousal.
 */
export function generateAffectiveDataset(opts: AffectiveDatasetOptions = {}): EmotionDataset {
  const subjects = checkCount(opts.subjects ?? 16, 'subjects');
  return affectiveDataset(Array.from({ length: subjects }, (_, i) => generateAffectiveSubject(i + 1, opts)));
}

/** The same as generateAffectiveDataset, giving the event loop a turn between subjects (a server stays responsive). */
export async function generateAffectiveDatasetAsync(opts: AffectiveDatasetOptions = {}): Promise<EmotionDataset> {
  const subjects = checkCount(opts.subjects ?? 16, 'subjects');
  const out: EmotionSubject[] = [];
  for (let s = 1; s <= subjects; s++) {
    await new Promise((resolve) => setImmediate(resolve));
    out.push(generateAffectiveSubject(s, opts));
  }
  return affectiveDataset(out);
}

/** Simulated subject `s` of a dataset: its clips, each with the baseline before it. */
export function generateAffectiveSubject(s: number, opts: AffectiveDatasetOptions = {}): EmotionSubject {
  const clips = checkCount(opts.clips ?? 18, 'clips');
  const simOpts: AffectiveOptions = { seed: subStreamSeed(opts.seed ?? 1, s), subject: s, baselineSeconds: opts.baselineSeconds, clipSeconds: opts.clipSeconds };
  const sim = new AffectiveSimulator(simOpts);
  const schedule = sim.firstClips(clips);
  const { data } = sim.next(schedule[schedule.length - 1].clipEnd);
  const nch = AFFECTIVE_CHANNELS.length;
  const trials: EmotionTrial[] = schedule.map((clip, i) => ({
    id: `clip-${i + 1}`,
    data: data.slice(clip.clipStart * nch, clip.clipEnd * nch),
    samples: clip.clipEnd - clip.clipStart,
    baseline: { data: data.slice(clip.baselineStart * nch, clip.clipStart * nch), samples: clip.clipStart - clip.baselineStart },
    ratings: { valence: clip.valence, arousal: clip.arousal },
  }));
  return { id: String(s), trials };
}

function affectiveDataset(subjects: EmotionSubject[]): EmotionDataset {
  return {
    name: 'synthetic-emotion',
    channels: AFFECTIVE_CHANNELS.map((label) => ({ label, type: 'eeg', unit: 'uV' })),
    sampleRate: AFFECTIVE_SAMPLE_RATE,
    ratingScale: { min: 1, max: RATING_LEVELS },
    subjects,
  };
}

function checkCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`synthetic emotion: ${what} must be a positive integer, got ${String(n)}`);
  return n;
}

/**
 * A finite simulated session of `clips` clips (each after its baseline), as a recording with the
 * baseline and clip markers: the beginning of the endless stream with the same options.
 */
export function generateAffectiveRecording(opts: AffectiveOptions, clips: number): Recording {
  const sim = new AffectiveSimulator(opts);
  const schedule = sim.firstClips(clips);
  const samples = schedule[schedule.length - 1].clipEnd;
  const { data, markers } = sim.next(samples);
  return { info: sim.info, data, samples, markers };
}
