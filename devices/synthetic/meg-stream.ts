import type { Marker, StreamInfo } from '../../src/stream/types.js';
import { Random } from '../../src/util/random.js';
import {
  ALPHA_FT,
  BACKGROUND_FT,
  BACKGROUND_SOURCES,
  COMPONENT_JITTER,
  COMPONENT_WIDTHS,
  MegWorld,
  SPECIFIC_COMPONENTS,
  bump,
  type MegSubjectModel,
  type MegWorldOptions,
} from './meg-forward-model.js';
import { PinkNoiseBank, resonator, subStreamSeed } from './noise-processes.js';
import { multiplyTransposed } from '../../src/ml/linalg/multiply-transposed.js';

/**
 * An endless simulated MEG session of image viewing: a subject sees one gallery image every ~1 s
 * (`soa` ± `soaJitter`, uniform) and the sensors record the evoked fields of the forward model in
 * meg-forward-model.ts on top of brain background, alpha and sensor noise. Each onset carries a
 * marker `image <id>` (duration: the 0.5 s the image stays on screen, as in THINGS-MEG).
 *
 * The images follow `sequence` (gallery ids) when given, then (or else) shuffled passes through
 * the whole gallery. The schedule has its own random stream, separate from the noise and from the
 * per-presentation jitter, so `firstPresentations` knows the onsets before any signal is made.
 * Everything advances sample by sample: `next(1)` N times equals `next(N)` bit for bit.
 */

export interface MegImageSimulatorOptions extends MegWorldOptions {
  /** A world to reuse (its options then replace the world options above). */
  world?: MegWorld;
  /** The simulated person (default 1). */
  subject?: number;
  /** Recording session: noise and schedule (default 0). */
  session?: number;
  /** Gallery ids to present first, in order. */
  sequence?: readonly string[];
  /** Mean onset-to-onset interval, s (default 1). */
  soa?: number;
  /** Half-width of the uniform jitter of the interval, s (default 0.1). */
  soaJitter?: number;
  /** Time of the first onset, s (default 1). */
  leadIn?: number;
}

export interface Presentation {
  /** Sample index of the onset since the stream began. */
  readonly sample: number;
  /** Gallery index of the image. */
  readonly image: number;
}

/** Seconds over which the background processes settle before the first sample. */
const WARM_UP = 10;
/** The marker's duration: how long the image stays on screen. */
const DISPLAY = 0.5;
/** Samples whose background fields are mixed at once (one matrix product). */
const BLOCK = 64;

/**
 * Standard normal draws by Marsaglia and Tsang's ziggurat (128 strips) on a seeded Random: one
 * 32-bit draw, a table lookup and a comparison ~98 % of the time, several times cheaper than
 * Box-Muller's logarithm and trigonometry; the white sensor noise needs one draw per channel and
 * sample (306,000 a second at 1 kHz).
 */
export class ZigguratNormal {
  private static readonly R = 3.442619855899;
  private static readonly k = new Uint32Array(128);
  private static readonly w = new Float64Array(128);
  private static readonly f = new Float64Array(128);
  private static ready = false;

  constructor(private readonly rng: Random) {
    if (!ZigguratNormal.ready) ZigguratNormal.tables();
  }

  private static tables(): void {
    const { k, w, f, R } = ZigguratNormal;
    const v = 9.91256303526217e-3;
    const m = 2147483648;
    let d = R;
    let t = d;
    const q = v / Math.exp(-0.5 * d * d);
    k[0] = Math.floor((d / q) * m);
    k[1] = 0;
    w[0] = q / m;
    w[127] = d / m;
    f[0] = 1;
    f[127] = Math.exp(-0.5 * d * d);
    for (let i = 126; i >= 1; i--) {
      d = Math.sqrt(-2 * Math.log(v / d + Math.exp(-0.5 * d * d)));
      k[i + 1] = Math.floor((d / t) * m);
      t = d;
      f[i] = Math.exp(-0.5 * d * d);
      w[i] = d / m;
    }
    ZigguratNormal.ready = true;
  }

  next(): number {
    const { k, w, f, R } = ZigguratNormal;
    const rng = this.rng;
    for (;;) {
      const h = rng.nextUint32() | 0;
      const i = h & 127;
      if (Math.abs(h) < k[i]) return h * w[i];
      if (i === 0) {
        // The tail beyond R.
        let x: number;
        let y: number;
        do {
          x = -Math.log(1 - rng.uniform()) / R;
          y = -Math.log(1 - rng.uniform());
        } while (y + y < x * x);
        return h > 0 ? R + x : -R - x;
      }
      const x = h * w[i];
      if (f[i] + rng.uniform() * (f[i - 1] - f[i]) < Math.exp(-0.5 * x * x)) return x;
    }
  }
}

/** Onsets and images, from the schedule's own random stream. */
export class MegSchedule {
  private readonly rng: Random;
  private cursor: number;
  private position = 0;
  private cycle: number[] = [];

  constructor(
    seed: number,
    private readonly rate: number,
    private readonly soa: number,
    private readonly jitter: number,
    leadIn: number,
    private readonly sequence: readonly number[],
    private readonly images: number,
  ) {
    this.rng = new Random(seed);
    this.cursor = Math.round(leadIn * rate);
  }

  next(): Presentation {
    const sample = this.cursor;
    let image: number;
    if (this.position < this.sequence.length) {
      image = this.sequence[this.position];
    } else {
      if (this.cycle.length === 0) this.cycle = this.rng.shuffle(Array.from({ length: this.images }, (_, i) => i)).reverse();
      image = this.cycle.pop()!;
    }
    this.position++;
    const interval = this.soa + this.jitter * (2 * this.rng.uniform() - 1);
    this.cursor = sample + Math.max(1, Math.round(interval * this.rate));
    return { sample, image };
  }
}

interface ActiveTrial {
  onset: number;
  image: number;
  /** Per component: latency for this presentation (s). */
  latency: Float64Array;
  amplitude: number;
  /** Sample after which it no longer contributes. */
  end: number;
}

export class MegImageSimulator {
  readonly info: StreamInfo;
  readonly world: MegWorld;
  readonly model: MegSubjectModel;
  readonly rate: number;
  readonly subject: number;

  private readonly nch: number;
  private readonly newSchedule: () => MegSchedule;
  private readonly schedule: MegSchedule;
  private upcoming: Presentation;
  private readonly active: ActiveTrial[] = [];
  private readonly brain: Random;
  private readonly sensor: ZigguratNormal;
  private readonly trials: Random;
  private readonly pink: PinkNoiseBank;
  private readonly alphaCoef: { a1: number; a2: number; b: number };
  private readonly alphaState = new Float64Array(4);
  private readonly acc: Float64Array;
  private readonly bg = new Float64Array(BACKGROUND_SOURCES + 2);
  /** Background then alpha patterns, channel-major (channels x sources). */
  private readonly mixing: Float64Array;
  /** Source values (BLOCK x sources) and their fields (BLOCK x channels) of the current block. */
  private readonly sources: Float64Array;
  private readonly background: Float64Array;
  private blockStart = -1;
  private readonly tail: number;
  private sample = 0;

  constructor(opts: MegImageSimulatorOptions = {}) {
    this.world = opts.world ?? new MegWorld(opts);
    const w = this.world.options;
    const subject = opts.subject ?? 1;
    const session = opts.session ?? 0;
    if (!Number.isSafeInteger(session)) throw new Error(`synthetic MEG: session must be an integer, got ${String(session)}`);
    this.subject = subject;
    this.model = this.world.subject(subject);
    this.rate = w.sampleRate;
    this.nch = w.channels;
    const soa = opts.soa ?? 1;
    const soaJitter = opts.soaJitter ?? 0.1;
    const leadIn = opts.leadIn ?? 1;
    if (!(Number.isFinite(soa) && soa > 0)) throw new Error(`synthetic MEG: soa must be a positive number, got ${String(soa)}`);
    if (!(Number.isFinite(soaJitter) && soaJitter >= 0 && soaJitter < soa)) throw new Error(`synthetic MEG: soaJitter must be in [0, soa), got ${String(soaJitter)}`);
    if (!(Number.isFinite(leadIn) && leadIn >= 0)) throw new Error(`synthetic MEG: leadIn must be a non-negative number, got ${String(leadIn)}`);
    const sequence = (opts.sequence ?? []).map((id, k) => {
      const i = this.world.gallery.indexOf(id);
      if (i < 0) throw new Error(`synthetic MEG: sequence[${k}] "${id}" is not in the gallery`);
      return i;
    });
    const base = subStreamSeed(subStreamSeed(w.seed, subject), 0x5e55 + session);
    this.newSchedule = () => new MegSchedule(subStreamSeed(base, 1), this.rate, soa, soaJitter, leadIn, sequence, w.images);
    this.schedule = this.newSchedule();
    this.upcoming = this.schedule.next();
    this.brain = new Random(subStreamSeed(base, 2));
    this.sensor = new ZigguratNormal(new Random(subStreamSeed(base, 3)));
    this.trials = new Random(subStreamSeed(base, 4));
    this.info = {
      name: 'synthetic MEG images',
      type: 'MEG',
      sourceId: `synthetic:meg-images?seed=${w.seed}&subject=${subject}&session=${session}`,
      channels: this.world.channels,
      sampleRate: this.rate,
    };
    this.pink = new PinkNoiseBank(this.rate, Array<number>(BACKGROUND_SOURCES).fill(BACKGROUND_FT));
    this.alphaCoef = resonator(this.model.alphaFreq, 1.5, this.rate, ALPHA_FT);
    this.acc = new Float64Array(this.nch);
    const nb = BACKGROUND_SOURCES + 2;
    this.mixing = new Float64Array(this.nch * nb);
    for (let ch = 0; ch < this.nch; ch++) {
      for (let b = 0; b < BACKGROUND_SOURCES; b++) this.mixing[ch * nb + b] = this.model.background[b * this.nch + ch];
      for (let b = 0; b < 2; b++) this.mixing[ch * nb + BACKGROUND_SOURCES + b] = this.model.alpha[b * this.nch + ch];
    }
    let latest = 0;
    for (let c = 0; c < COMPONENT_WIDTHS.length; c++) latest = Math.max(latest, this.model.latency[c] + 6 * (COMPONENT_WIDTHS[c] + 2 * COMPONENT_JITTER[c]));
    this.tail = Math.ceil(latest * this.rate);
    this.sources = new Float64Array(BLOCK * nb);
    this.background = new Float64Array(BLOCK * this.nch);
    for (let s = Math.round(WARM_UP * this.rate); s > 0; s--) this.stepBrain();
  }

  /** The first `count` presentations of the session (the schedule depends only on the seeds). */
  firstPresentations(count: number): Presentation[] {
    const probe = this.newSchedule();
    return Array.from({ length: count }, () => probe.next());
  }

  /**
   * The next `n` samples (sample-major, T for magnetometers and T/m for gradiometers) and the
   * image-onset markers among them (times: seconds since the first sample).
   */
  next(n: number): { data: Float32Array; markers: Marker[] } {
    if (!Number.isInteger(n) || n < 0) throw new Error(`synthetic MEG: sample count must be a non-negative integer, got ${String(n)}`);
    const data = new Float32Array(n * this.nch);
    const markers = this.nextInto(n, data);
    return { data, markers };
  }

  /** As `next`, into `out` (at least n x channels values); returns the markers. */
  nextInto(n: number, out: Float32Array): Marker[] {
    const nch = this.nch;
    if (out.length < n * nch) throw new Error(`synthetic MEG: output holds ${out.length} values, need ${n * nch}`);
    const markers: Marker[] = [];
    const acc = this.acc;
    const m = this.model;
    const gallery = this.world.gallery;
    for (let s = 0; s < n; s++) {
      const g = this.sample;
      while (g === this.upcoming.sample) {
        this.startTrial(this.upcoming);
        markers.push({ time: g / this.rate, value: `image ${gallery.ids[this.upcoming.image]}`, duration: DISPLAY });
        this.upcoming = this.schedule.next();
      }
      // Background and alpha sources, mixed a block of samples at a time (blocks at fixed
      // sample positions, so the values do not depend on how the caller chunks).
      const within = g % BLOCK;
      if (this.blockStart !== g - within) this.mixBlock(g - within);
      const bgo = within * nch;
      const bgf = this.background;
      for (let ch = 0; ch < nch; ch++) acc[ch] = bgf[bgo + ch];
      // Evoked fields of the presentations still under way.
      for (let k = this.active.length - 1; k >= 0; k--) {
        const tr = this.active[k];
        if (g > tr.end) {
          this.active.splice(k, 1);
          continue;
        }
        const t = (g - tr.onset) / this.rate;
        for (let c = 0; c < COMPONENT_WIDTHS.length; c++) {
          const h = bump(t, tr.latency[c], COMPONENT_WIDTHS[c]) * tr.amplitude;
          if (h < 1e-4) continue;
          const pattern = m.patterns[c];
          const po = c < SPECIFIC_COMPONENTS ? tr.image * nch : 0;
          for (let ch = 0; ch < nch; ch++) acc[ch] += h * pattern[po + ch];
        }
      }
      const o = s * nch;
      const rng = this.sensor;
      const sd = m.sensorNoise;
      for (let ch = 0; ch < nch; ch++) out[o + ch] = acc[ch] + sd[ch] * rng.next();
      this.sample = g + 1;
    }
    return markers;
  }

  /** Samples produced so far. */
  get position(): number {
    return this.sample;
  }

  private startTrial(p: Presentation): void {
    const rng = this.trials;
    const latency = new Float64Array(COMPONENT_WIDTHS.length);
    for (let c = 0; c < latency.length; c++) latency[c] = this.model.latency[c] + COMPONENT_JITTER[c] * rng.normal();
    this.active.push({ onset: p.sample, image: p.image, latency, amplitude: Math.exp(0.1 * rng.normal()), end: p.sample + this.tail });
  }

  /** Background fields of samples start..start+BLOCK-1 (sources stepped in order). */
  private mixBlock(start: number): void {
    const nb = BACKGROUND_SOURCES + 2;
    for (let k = 0; k < BLOCK; k++) {
      this.stepBrain();
      this.sources.set(this.bg, k * nb);
    }
    multiplyTransposed(this.sources, nb, BLOCK, this.mixing, nb, this.nch, nb, this.background, this.nch);
    this.blockStart = start;
  }

  /** One step of the background (pink) and alpha sources into `bg`. */
  private stepBrain(): void {
    const rng = this.brain;
    for (let b = 0; b < BACKGROUND_SOURCES; b++) this.bg[b] = this.pink.step(b, rng.normal());
    const { a1, a2, b } = this.alphaCoef;
    const st = this.alphaState;
    for (let k = 0; k < 2; k++) {
      const x = a1 * st[2 * k] + a2 * st[2 * k + 1] + b * rng.normal();
      st[2 * k + 1] = st[2 * k];
      st[2 * k] = x;
      this.bg[BACKGROUND_SOURCES + k] = x;
    }
  }
}
