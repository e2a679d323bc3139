import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, Marker, StreamInfo } from '../../src/stream/types.js';
import { Random } from '../../src/util/random.js';
import { PinkNoiseBank, resonator, subStreamSeed } from './noise-processes.js';

/**
 * Simulated motor-imagery EEG: a cued left/right(/feet) imagery session with event-related
 * desynchronisation (ERD) of the sensorimotor rhythms, for demos, tests and benchmarks without a
 * headset.
 *
 * Signal model (all in µV), a linear mixture of cortical sources onto a 10-20 style montage:
 * - background: 1/f ("pink") noise, from a few broad, distributed sources (spatially correlated)
 *   plus one local process per electrode;
 * - an occipital alpha rhythm (two sources near O1/O2, ~10 Hz);
 * - sensorimotor mu (~10-12 Hz) and beta (~18-25 Hz) rhythms at three sources: the left hand area
 *   (under C3), the right hand area (under C4) and the feet area (under Cz);
 * - white sensor noise.
 * Each rhythm is narrow-band noise (a resonant second-order filter on white noise) with a slow
 * random amplitude modulation on top, so its power fluctuates as real rhythms do.
 *
 * During imagery of a class the mu/beta amplitude of the matching source falls (contralateral
 * ERD): 'left' → right hand area (C4), 'right' → left hand area (C3), 'feet' → feet area (Cz); the
 * ipsilateral hand area falls a little too. The fall starts 0.3 s after the cue, ramps down over
 * 0.5 s, holds to the end of the imagery period and recovers over 0.8 s, all along raised-cosine
 * ramps. The depth varies from trial to trial and a few trials ("lapses") show almost none.
 *
 * Subject and session: the spatial mixing, rhythm frequencies and typical ERD depth belong to the
 * *subject* (`subject`, default 1); `seed` only drives the noise, the trial order and timing, the
 * per-trial ERD depth and a small per-electrode gain spread. A decoder calibrated on one seed
 * therefore transfers to another seed of the same subject, as across sessions of a real user.
 *
 * Trials: rest 1.5-2.5 s (uniform, whole samples), cue, 4 s imagery, repeat; classes come in
 * shuffled blocks holding each class once. Marker times are exact sample times (index / rate).
 *
 * Everything advances sample by sample (filter states, phases, random draws, the schedule), so the
 * output does not depend on how it is asked for: `next(1)` N times equals `next(N)` bit for bit.
 */

export type MotorImageryClass = 'left' | 'right' | 'feet';

export const MOTOR_IMAGERY_CLASSES: readonly MotorImageryClass[] = ['left', 'right', 'feet'];

export interface MotorImageryOptions {
  /** Session seed: noise, trial order and timing. */
  seed: number;
  /** Hz, default 160 (at least 64). */
  sampleRate?: number;
  /** Cued classes, default ['left', 'right']. */
  classes?: MotorImageryClass[];
  /** Simulated person: spatial layout, rhythm frequencies, ERD depth. Default 1. */
  subject?: number;
}

export const DEFAULT_SAMPLE_RATE = 160;
export const DEFAULT_SUBJECT = 1;
const DEFAULT_CLASSES: readonly MotorImageryClass[] = ['left', 'right'];

/** Rest before each cue, seconds (uniform). */
const REST_MIN = 1.5;
const REST_MAX = 2.5;
/** Imagery period after each cue, seconds (the marker's duration). */
const IMAGERY = 4;
/** ERD envelope, seconds: delay after the cue, fall time, recovery time after the imagery. */
const ERD_DELAY = 0.3;
const ERD_FALL = 0.5;
const ERD_RECOVERY = 0.8;
/** Probability that a trial shows (almost) no ERD. */
const LAPSE_RATE = 0.04;
/** Seconds the generator runs before sample 0, so filters and rhythms start in steady state. */
const WARM_UP = 8;

/**
 * Montage: label and approximate position on a flat projection of the scalp, in units of the
 * vertex-to-ear distance (x to the right, y to the nose; Cz at the origin, C3 at x = -0.5).
 */
const MONTAGE: readonly (readonly [string, number, number])[] = [
  ['Fz', 0, 0.5],
  ['FC3', -0.45, 0.25],
  ['FC1', -0.22, 0.25],
  ['FCz', 0, 0.25],
  ['FC2', 0.22, 0.25],
  ['FC4', 0.45, 0.25],
  ['C5', -0.75, 0],
  ['C3', -0.5, 0],
  ['C1', -0.25, 0],
  ['Cz', 0, 0],
  ['C2', 0.25, 0],
  ['C4', 0.5, 0],
  ['C6', 0.75, 0],
  ['CP3', -0.45, -0.25],
  ['CPz', 0, -0.25],
  ['CP4', 0.45, -0.25],
  ['Pz', 0, -0.5],
  ['O1', -0.3, -0.95],
  ['O2', 0.3, -0.95],
];

export const MOTOR_IMAGERY_CHANNELS: readonly string[] = MONTAGE.map((m) => m[0]);

/** Broad background sources: position, spread. */
const BACKGROUND_SOURCES: readonly (readonly [number, number, number])[] = [
  [-0.4, 0.55, 0.45],
  [0.4, 0.55, 0.45],
  [-0.8, -0.05, 0.45],
  [0.8, -0.05, 0.45],
  [-0.4, -0.6, 0.45],
  [0.4, -0.6, 0.45],
  [0, 0.1, 0.5],
];

/** Source indices after the background ones. */
const ALPHA_LEFT = BACKGROUND_SOURCES.length;
const ALPHA_RIGHT = ALPHA_LEFT + 1;
const HAND_LEFT = ALPHA_LEFT + 2; // left hemisphere, right hand: under C3
const HAND_RIGHT = ALPHA_LEFT + 3; // right hemisphere, left hand: under C4
const FEET = ALPHA_LEFT + 4; // medial, under Cz
const SOURCE_COUNT = FEET + 1;
/** Motor source slots (index into a trial's depth array): C3 area, C4 area, Cz area. */
const MOTOR_SOURCES = [HAND_LEFT, HAND_RIGHT, FEET] as const;

/** Background amplitudes (standard deviation, µV). */
const BACKGROUND_SOURCE_UV = 11;
const LOCAL_PINK_UV = 7;
const SENSOR_NOISE_UV = 1;
/** Session-to-session spread of electrode gains (relative standard deviation). */
const ELECTRODE_GAIN_SPREAD = 0.04;
/** Slow amplitude modulation of the rhythms: time constant (s) and log-amplitude spread. */
const MODULATION_TAU = 2.5;
const MODULATION_DEPTH = 0.2;

interface RhythmSpec {
  source: number;
  /** Motor slot (0-2) whose ERD applies, or -1. */
  motor: number;
  freq: number;
  bandwidth: number;
  amplitude: number;
}

/** What belongs to the simulated person. */
interface Subject {
  /** channels x sources, row-major. */
  mixing: Float64Array;
  rhythms: RhythmSpec[];
  /** Typical contralateral amplitude factor during imagery (0.3-0.4). */
  erdDepth: number;
}

function makeSubject(subject: number): Subject {
  const rng = new Random(subStreamSeed(subject, 0x51b1ec7));
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();
  const sources: [number, number, number][] = BACKGROUND_SOURCES.map(([x, y, s]) => [x + u(-0.08, 0.08), y + u(-0.08, 0.08), s * u(0.9, 1.1)]);
  sources.push([-0.28 + u(-0.06, 0.06), -0.92 + u(-0.05, 0.05), 0.3 * u(0.9, 1.1)]); // alpha, left occipital
  sources.push([0.28 + u(-0.06, 0.06), -0.92 + u(-0.05, 0.05), 0.3 * u(0.9, 1.1)]); // alpha, right occipital
  sources.push([-0.5 + u(-0.07, 0.07), u(-0.07, 0.07), 0.27 * u(0.9, 1.1)]); // left hand area
  sources.push([0.5 + u(-0.07, 0.07), u(-0.07, 0.07), 0.27 * u(0.9, 1.1)]); // right hand area
  sources.push([u(-0.05, 0.05), -0.05 + u(-0.06, 0.06), 0.28 * u(0.9, 1.1)]); // feet area
  const nch = MONTAGE.length;
  const mixing = new Float64Array(nch * SOURCE_COUNT);
  for (let c = 0; c < nch; c++) {
    const [, cx, cy] = MONTAGE[c];
    for (let j = 0; j < SOURCE_COUNT; j++) {
      const [sx, sy, spread] = sources[j];
      const d2 = (cx - sx) ** 2 + (cy - sy) ** 2;
      // Smooth falloff with distance, with a little subject-specific irregularity.
      mixing[c * SOURCE_COUNT + j] = Math.exp(-d2 / (2 * spread * spread)) * (1 + 0.08 * rng.normal());
    }
  }
  const alphaFreq = u(9.2, 10.8);
  const rhythms: RhythmSpec[] = [
    { source: ALPHA_LEFT, motor: -1, freq: alphaFreq + u(-0.2, 0.2), bandwidth: 1, amplitude: u(7, 10) },
    { source: ALPHA_RIGHT, motor: -1, freq: alphaFreq + u(-0.2, 0.2), bandwidth: 1, amplitude: u(7, 10) },
  ];
  const mu = u(10, 12);
  const beta = u(19, 24);
  MOTOR_SOURCES.forEach((source, slot) => {
    rhythms.push({ source, motor: slot, freq: mu + u(-0.4, 0.4), bandwidth: 2.5, amplitude: u(6, 8) });
    rhythms.push({ source, motor: slot, freq: beta + u(-1, 1), bandwidth: 4, amplitude: u(2.5, 3.5) });
  });
  return { mixing, rhythms, erdDepth: u(0.3, 0.4) };
}

interface Trial {
  /** Sample index of the cue. */
  cue: number;
  cls: MotorImageryClass;
  /** Amplitude factor of each motor slot (C3 area, C4 area, Cz area) at full ERD. */
  depth: [number, number, number];
}

/** The seeded sequence of trials (independent of the signal's random numbers). */
class TrialSchedule {
  private readonly rng: Random;
  private block: MotorImageryClass[] = [];
  private cursor = 0;

  constructor(
    seed: number,
    private readonly classes: readonly MotorImageryClass[],
    private readonly rate: number,
    private readonly erdDepth: number,
  ) {
    this.rng = new Random(subStreamSeed(seed, 0x5c4ed));
  }

  get imagerySamples(): number {
    return Math.round(IMAGERY * this.rate);
  }

  next(): Trial {
    const rng = this.rng;
    if (this.block.length === 0) this.block = rng.shuffle([...this.classes]).reverse();
    const cls = this.block.pop()!;
    const rest = Math.round((REST_MIN + (REST_MAX - REST_MIN) * rng.uniform()) * this.rate);
    const cue = this.cursor + rest;
    this.cursor = cue + this.imagerySamples;
    const lapse = rng.uniform() < LAPSE_RATE;
    const strong = rng.uniform();
    const weak = rng.uniform();
    const contra = lapse ? 0.8 + 0.15 * strong : Math.min(0.9, this.erdDepth - 0.08 + 0.28 * strong);
    const ipsi = 0.8 + 0.15 * weak;
    let depth: [number, number, number];
    if (cls === 'left') depth = [ipsi, contra, 1];
    else if (cls === 'right') depth = [contra, ipsi, 1];
    else depth = [0.85 + 0.15 * weak, 0.85 + 0.15 * weak, contra];
    return { cue, cls, depth };
  }
}

/** Share (0-1) of the full ERD reached `t` seconds after a cue. */
function erdShape(t: number): number {
  if (t < ERD_DELAY) return 0;
  if (t < ERD_DELAY + ERD_FALL) return 0.5 - 0.5 * Math.cos((Math.PI * (t - ERD_DELAY)) / ERD_FALL);
  if (t < IMAGERY) return 1;
  if (t < IMAGERY + ERD_RECOVERY) return 0.5 + 0.5 * Math.cos((Math.PI * (t - IMAGERY)) / ERD_RECOVERY);
  return 0;
}

function validate(opts: MotorImageryOptions): { seed: number; rate: number; classes: MotorImageryClass[]; subject: number } {
  const seed = opts.seed;
  if (!Number.isSafeInteger(seed)) throw new Error(`synthetic motor imagery: seed must be an integer, got ${String(seed)}`);
  const rate = opts.sampleRate ?? DEFAULT_SAMPLE_RATE;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 64) {
    throw new Error(`synthetic motor imagery: sampleRate must be at least 64 Hz (beta rhythms reach 25 Hz), got ${String(rate)}`);
  }
  const classes = [...(opts.classes ?? DEFAULT_CLASSES)];
  if (classes.length === 0) throw new Error('synthetic motor imagery: at least one class is needed');
  const bad = classes.filter((c) => !MOTOR_IMAGERY_CLASSES.includes(c));
  if (bad.length > 0) throw new Error(`synthetic motor imagery: unknown class(es) ${bad.join(', ')}, expected ${MOTOR_IMAGERY_CLASSES.join(', ')}`);
  if (new Set(classes).size !== classes.length) throw new Error(`synthetic motor imagery: classes repeat (${classes.join(', ')})`);
  const subject = opts.subject ?? DEFAULT_SUBJECT;
  if (!Number.isSafeInteger(subject)) throw new Error(`synthetic motor imagery: subject must be an integer, got ${String(subject)}`);
  return { seed, rate, classes, subject };
}

function sourceIdOf(v: ReturnType<typeof validate>): string {
  let id = `synthetic:motor-imagery?seed=${v.seed}`;
  if (v.rate !== DEFAULT_SAMPLE_RATE) id += `&rate=${v.rate}`;
  if (v.classes.join(',') !== DEFAULT_CLASSES.join(',')) id += `&classes=${v.classes.join(',')}`;
  if (v.subject !== DEFAULT_SUBJECT) id += `&subject=${v.subject}`;
  return id;
}

/** An endless simulated motor-imagery stream. */
export class MotorImagerySimulator {
  readonly info: StreamInfo;

  private readonly rate: number;
  private readonly nch: number;
  private readonly schedule: TrialSchedule;
  private readonly newSchedule: () => TrialSchedule;
  private readonly imagerySamples: number;
  private readonly noise: Random;
  private readonly mixing: Float64Array;
  /** Per-electrode gain of this session. */
  private readonly gain: Float64Array;

  /** Pink noise: processes [background sources..., one per channel]. */
  private readonly pinkNoise: PinkNoiseBank;

  // Rhythms: resonators x[n] = a1 x[n-1] + a2 x[n-2] + b e[n], times a slow modulation.
  private readonly rhythmSource: Int32Array;
  private readonly rhythmMotor: Int32Array;
  private readonly rhythmA1: Float64Array;
  private readonly rhythmA2: Float64Array;
  private readonly rhythmB: Float64Array;
  private readonly rhythmState: Float64Array;
  private readonly modulation: Float64Array;
  private readonly modulationPole: number;
  private readonly modulationInput: number;

  /** Scratch: source values and motor gains of the current sample. */
  private readonly sources = new Float64Array(SOURCE_COUNT);
  private readonly motorGain = new Float64Array(MOTOR_SOURCES.length);

  /** Global index of the next sample. */
  private sample = 0;
  private upcoming: Trial;
  private current: Trial | undefined;

  constructor(opts: MotorImageryOptions) {
    const v = validate(opts);
    this.rate = v.rate;
    this.nch = MONTAGE.length;
    const channels: ChannelInfo[] = MONTAGE.map(([label]) => ({ label, type: 'eeg', unit: 'uV' }));
    this.info = { name: 'synthetic motor imagery', type: 'EEG', sourceId: sourceIdOf(v), channels, sampleRate: v.rate };

    const subject = makeSubject(v.subject);
    this.mixing = subject.mixing;
    this.newSchedule = () => new TrialSchedule(v.seed, v.classes, v.rate, subject.erdDepth);
    this.schedule = this.newSchedule();
    this.imagerySamples = this.schedule.imagerySamples;
    this.upcoming = this.schedule.next();

    const sessionRng = new Random(subStreamSeed(v.seed, 0x6a1e));
    this.gain = new Float64Array(this.nch);
    for (let c = 0; c < this.nch; c++) this.gain[c] = 1 + ELECTRODE_GAIN_SPREAD * sessionRng.normal();
    this.noise = new Random(subStreamSeed(v.seed, 0x4015e));

    this.pinkNoise = new PinkNoiseBank(v.rate, [...BACKGROUND_SOURCES.map(() => BACKGROUND_SOURCE_UV), ...MONTAGE.map(() => LOCAL_PINK_UV)]);

    const rs = subject.rhythms;
    this.rhythmSource = Int32Array.from(rs, (r) => r.source);
    this.rhythmMotor = Int32Array.from(rs, (r) => r.motor);
    this.rhythmA1 = new Float64Array(rs.length);
    this.rhythmA2 = new Float64Array(rs.length);
    this.rhythmB = new Float64Array(rs.length);
    rs.forEach((r, i) => {
      const { a1, a2, b } = resonator(r.freq, r.bandwidth, v.rate, r.amplitude);
      this.rhythmA1[i] = a1;
      this.rhythmA2[i] = a2;
      this.rhythmB[i] = b;
    });
    this.rhythmState = new Float64Array(rs.length * 2);
    this.modulationPole = Math.exp(-1 / (MODULATION_TAU * v.rate));
    this.modulationInput = Math.sqrt(1 - this.modulationPole ** 2);
    this.modulation = new Float64Array(rs.length);
    for (let i = 0; i < rs.length; i++) this.modulation[i] = this.noise.normal();

    // Run ahead so that sample 0 is already in steady state.
    const scratch = new Float32Array(this.nch);
    this.motorGain.fill(1);
    for (let s = Math.round(WARM_UP * v.rate); s > 0; s--) this.render(scratch, 0);
  }

  /**
   * The next `n` samples (sample-major) and the cue markers among them. Marker times are in
   * seconds since the stream's first sample.
   */
  next(n: number): { data: Float32Array; markers: Marker[] } {
    if (!Number.isInteger(n) || n < 0) throw new Error(`synthetic motor imagery: sample count must be a non-negative integer, got ${String(n)}`);
    const nch = this.nch;
    const data = new Float32Array(n * nch);
    const markers: Marker[] = [];
    const duration = this.imagerySamples / this.rate;
    for (let s = 0; s < n; s++) {
      const g = this.sample;
      if (g === this.upcoming.cue) {
        this.current = this.upcoming;
        this.upcoming = this.schedule.next();
        markers.push({ time: g / this.rate, value: this.current.cls, duration });
      }
      const cur = this.current;
      const shape = cur ? erdShape((g - cur.cue) / this.rate) : 0;
      for (let m = 0; m < MOTOR_SOURCES.length; m++) this.motorGain[m] = cur ? 1 - (1 - cur.depth[m]) * shape : 1;
      this.render(data, s * nch);
      this.sample = g + 1;
    }
    return { data, markers };
  }

  /**
   * Samples in a session of the first `trials` trials: up to (not including) the next cue, so it
   * ends with the rest that follows the last imagery period.
   */
  sessionSamples(trials: number): number {
    if (!Number.isInteger(trials) || trials < 1) throw new Error(`synthetic motor imagery: trials must be a positive integer, got ${String(trials)}`);
    // A fresh copy of the schedule: it depends only on the seed, not on what was generated.
    const probe = this.newSchedule();
    for (let i = 0; i < trials; i++) probe.next();
    return probe.next().cue;
  }

  /** Computes one sample into `out` at `o`, advancing every state by one step. */
  private render(out: Float32Array, o: number): void {
    const rng = this.noise;
    const src = this.sources;
    const nbg = BACKGROUND_SOURCES.length;
    for (let j = 0; j < nbg; j++) src[j] = this.pinkNoise.step(j, rng.normal());
    for (let j = nbg; j < SOURCE_COUNT; j++) src[j] = 0;
    const nr = this.rhythmA1.length;
    const mp = this.modulationPole;
    const mi = this.modulationInput;
    for (let r = 0; r < nr; r++) {
      const st = r * 2;
      const x = this.rhythmA1[r] * this.rhythmState[st] + this.rhythmA2[r] * this.rhythmState[st + 1] + this.rhythmB[r] * rng.normal();
      this.rhythmState[st + 1] = this.rhythmState[st];
      this.rhythmState[st] = x;
      const m = mp * this.modulation[r] + mi * rng.normal();
      this.modulation[r] = m;
      let value = x * Math.exp(MODULATION_DEPTH * m);
      const motor = this.rhythmMotor[r];
      if (motor >= 0) value *= this.motorGain[motor];
      src[this.rhythmSource[r]] += value;
    }
    const nch = this.nch;
    const mix = this.mixing;
    for (let c = 0; c < nch; c++) {
      let v = this.pinkNoise.step(nbg + c, rng.normal());
      const row = c * SOURCE_COUNT;
      for (let j = 0; j < SOURCE_COUNT; j++) v += mix[row + j] * src[j];
      out[o + c] = v * this.gain[c] + SENSOR_NOISE_UV * rng.normal();
    }
  }
}

/**
 * A finite simulated session: `trialsPerClass` cues of each class (balanced, in shuffled blocks),
 * ending after the rest that follows the last trial. It is the beginning of the endless stream of
 * `MotorImagerySimulator` with the same options.
 */
export function generateMotorImagery(opts: MotorImageryOptions & { trialsPerClass: number }): Recording {
  const { trialsPerClass } = opts;
  if (!Number.isInteger(trialsPerClass) || trialsPerClass < 1) {
    throw new Error(`synthetic motor imagery: trialsPerClass must be a positive integer, got ${String(trialsPerClass)}`);
  }
  const sim = new MotorImagerySimulator(opts);
  const trials = trialsPerClass * (opts.classes ?? DEFAULT_CLASSES).length;
  const samples = sim.sessionSamples(trials);
  const { data, markers } = sim.next(samples);
  return { info: sim.info, data, samples, markers };
}
