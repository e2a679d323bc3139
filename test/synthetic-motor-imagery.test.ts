import { describe, expect, it } from 'vitest';
import { generateMotorImagery, MOTOR_IMAGERY_CHANNELS, MotorImagerySimulator, type MotorImageryClass } from '../devices/synthetic/motor-imagery.js';
import { epochsFromRecording, trainModel } from '../pipelines/motor-imagery/calibrate.js';
import { decoderSpec } from '../src/ml/decoders/decoder-spec.js';
import type { Epoch } from '../src/dsp/epochs.js';
import { accuracy } from '../src/ml/cross-validation.js';
import type { Recording } from '../src/stream/recording.js';
import type { Marker } from '../src/stream/types.js';
import { Random } from '../src/util/random.js';

const RATE = 160;
const NCH = MOTOR_IMAGERY_CHANNELS.length;

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads `total` samples in pieces of the given sizes (cycled). */
function readInPieces(sim: MotorImagerySimulator, total: number, sizes: () => number): { data: Float32Array; markers: Marker[] } {
  const parts: Float32Array[] = [];
  const markers: Marker[] = [];
  for (let done = 0; done < total;) {
    const n = Math.min(sizes(), total - done);
    const r = sim.next(n);
    expect(r.data.length).toBe(n * NCH);
    parts.push(r.data);
    markers.push(...r.markers);
    done += n;
  }
  return { data: concat(parts), markers };
}

function channel(rec: { data: Float32Array }, label: string): Float64Array {
  const c = MOTOR_IMAGERY_CHANNELS.indexOf(label);
  expect(c).toBeGreaterThanOrEqual(0);
  const n = rec.data.length / NCH;
  const x = new Float64Array(n);
  for (let s = 0; s < n; s++) x[s] = rec.data[s * NCH + c];
  return x;
}

/** Welch power spectral density (Hann window, 50 % overlap), one value per bin of rate/seg Hz. */
function welch(x: Float64Array, seg: number): Float64Array {
  const window = Float64Array.from({ length: seg }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / seg));
  const wpow = window.reduce((a, w) => a + w * w, 0);
  const bins = seg / 2 + 1;
  const cos = new Float64Array(seg * bins);
  const sin = new Float64Array(seg * bins);
  for (let k = 0; k < bins; k++) {
    for (let i = 0; i < seg; i++) {
      cos[k * seg + i] = Math.cos((2 * Math.PI * k * i) / seg);
      sin[k * seg + i] = Math.sin((2 * Math.PI * k * i) / seg);
    }
  }
  const psd = new Float64Array(bins);
  const buf = new Float64Array(seg);
  let count = 0;
  for (let start = 0; start + seg <= x.length; start += seg / 2, count++) {
    let mean = 0;
    for (let i = 0; i < seg; i++) mean += x[start + i] / seg;
    for (let i = 0; i < seg; i++) buf[i] = (x[start + i] - mean) * window[i];
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < seg; i++) {
        re += buf[i] * cos[k * seg + i];
        im -= buf[i] * sin[k * seg + i];
      }
      psd[k] += (re * re + im * im) / (wpow * RATE);
    }
  }
  return psd.map((p) => p / count);
}

function bandMean(psd: Float64Array, seg: number, lo: number, hi: number): number {
  let sum = 0;
  let n = 0;
  for (let k = 0; k < psd.length; k++) {
    const f = (k * RATE) / seg;
    if (f >= lo && f <= hi) {
      sum += psd[k];
      n++;
    }
  }
  return sum / n;
}

const settings = {
  reference: 'none' as const,
  notch: null,
  bandpass: { low: 8, high: 30, order: 4 },
  filterBank: null,
  events: { left: 'left', right: 'right' },
  epoch: { tmin: 0.5, tmax: 2.5 },
  decoder: decoderSpec({ kind: 'csp-lda', components: 4, regularization: 0, shrinkage: 'auto' }),
};

/** Mean log band power (8-30 Hz, 0.5-2.5 s after the cue) of one channel, per class. */
async function erdPower(rec: Recording, label: string, events: Record<string, string>): Promise<Map<string, number>> {
  const epochs = await epochsFromRecording(rec, [label], { ...settings, events });
  const sums = new Map<string, { sum: number; n: number }>();
  for (const e of epochs) {
    let p = 0;
    for (let s = 0; s < e.samples; s++) p += e.data[s] * e.data[s];
    const acc = sums.get(e.label) ?? { sum: 0, n: 0 };
    acc.sum += Math.log(p / e.samples);
    acc.n++;
    sums.set(e.label, acc);
  }
  return new Map([...sums].map(([k, v]) => [k, v.sum / v.n]));
}

describe('synthetic motor-imagery simulator', () => {
  it('describes its stream: 10-20 EEG channels in µV over the sensorimotor strip', () => {
    const sim = new MotorImagerySimulator({ seed: 7 });
    expect(sim.info.name).toBe('synthetic motor imagery');
    expect(sim.info.type).toBe('EEG');
    expect(sim.info.sourceId).toBe('synthetic:motor-imagery?seed=7');
    expect(sim.info.sampleRate).toBe(RATE);
    const labels = sim.info.channels.map((c) => c.label);
    expect(labels).toEqual(MOTOR_IMAGERY_CHANNELS);
    expect(labels).toEqual(expect.arrayContaining(['C3', 'Cz', 'C4', 'O1', 'O2']));
    expect(sim.info.channels.every((c) => c.type === 'eeg' && c.unit === 'uV')).toBe(true);
    expect(new MotorImagerySimulator({ seed: 3, sampleRate: 250, classes: ['left', 'right', 'feet'] }).info.sourceId).toBe('synthetic:motor-imagery?seed=3&rate=250&classes=left,right,feet');
    expect(() => new MotorImagerySimulator({ seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(() => new MotorImagerySimulator({ seed: 1, sampleRate: 20 })).toThrow(/at least 64 Hz/);
    expect(() => new MotorImagerySimulator({ seed: 1, classes: ['left', 'up' as MotorImageryClass] })).toThrow(/unknown class/);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = new MotorImagerySimulator({ seed: 3 }).next(2000);
    const b = new MotorImagerySimulator({ seed: 3 }).next(2000);
    const c = new MotorImagerySimulator({ seed: 4 }).next(2000);
    expect(sameBytes(a.data, b.data)).toBe(true);
    expect(b.markers).toEqual(a.markers);
    expect(sameBytes(a.data, c.data)).toBe(false);
    expect(a.data.every(Number.isFinite)).toBe(true);
    // Realistic scale: tens of µV, no channel flat.
    for (const label of MOTOR_IMAGERY_CHANNELS) {
      const x = channel(a, label);
      const sd = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length - (x.reduce((s, v) => s + v, 0) / x.length) ** 2);
      expect(sd).toBeGreaterThan(5);
      expect(sd).toBeLessThan(60);
    }
  });

  it('gives the same samples and markers however the stream is chunked', () => {
    const total = 2600; // > 16 s: at least two cues
    const whole = new MotorImagerySimulator({ seed: 9, classes: ['left', 'right', 'feet'] }).next(total);
    expect(whole.markers.length).toBeGreaterThanOrEqual(2);
    const ones = readInPieces(new MotorImagerySimulator({ seed: 9, classes: ['left', 'right', 'feet'] }), total, () => 1);
    const rng = new Random(123);
    const random = readInPieces(new MotorImagerySimulator({ seed: 9, classes: ['left', 'right', 'feet'] }), total, () => rng.int(97));
    for (const other of [ones, random]) {
      expect(sameBytes(other.data, whole.data)).toBe(true);
      expect(other.markers).toEqual(whole.markers);
    }
  });

  it('puts each cue marker on a sample, in the chunk that holds it, 1.5-2.5 s of rest apart from the previous imagery', () => {
    const sim = new MotorImagerySimulator({ seed: 21 });
    const markers: { m: Marker; first: number; n: number }[] = [];
    let first = 0;
    for (let i = 0; i < 200; i++) {
      const n = 1 + (i % 37);
      for (const m of sim.next(n).markers) markers.push({ m, first, n });
      first += n;
    }
    expect(markers.length).toBeGreaterThanOrEqual(2);
    expect(markers[0].m.time).toBeGreaterThanOrEqual(1.5);
    expect(markers[0].m.time).toBeLessThanOrEqual(2.5);
    let previousEnd = 0;
    for (const { m, first: f, n } of markers) {
      const sample = m.time * RATE;
      expect(Math.abs(sample - Math.round(sample))).toBeLessThan(1e-6);
      expect(Math.round(sample)).toBeGreaterThanOrEqual(f);
      expect(Math.round(sample)).toBeLessThan(f + n);
      expect(m.duration).toBe(4);
      expect(['left', 'right']).toContain(m.value);
      const rest = m.time - previousEnd;
      expect(rest).toBeGreaterThanOrEqual(1.5 - 1e-9);
      expect(rest).toBeLessThanOrEqual(2.5 + 1e-9);
      previousEnd = m.time + m.duration;
    }
  });
});

describe('generateMotorImagery', () => {
  it('produces a balanced, shuffled, time-ordered session that covers every trial', () => {
    const classes: MotorImageryClass[] = ['left', 'right', 'feet'];
    const rec = generateMotorImagery({ seed: 5, trialsPerClass: 8, classes });
    expect(rec.markers).toHaveLength(24);
    for (const cls of classes) expect(rec.markers.filter((m) => m.value === cls)).toHaveLength(8);
    expect(rec.markers.every((m) => classes.includes(m.value as MotorImageryClass))).toBe(true);
    for (let i = 1; i < rec.markers.length; i++) expect(rec.markers[i].time).toBeGreaterThan(rec.markers[i - 1].time + 4);
    expect(rec.data.length).toBe(rec.samples * NCH);
    const last = rec.markers[rec.markers.length - 1];
    const end = rec.samples / RATE;
    expect(end).toBeGreaterThanOrEqual(last.time + last.duration + 1.5);
    expect(end).toBeLessThanOrEqual(last.time + last.duration + 2.5 + 1 / RATE);
    // Not one fixed order: the class sequence differs between seeds.
    const other = generateMotorImagery({ seed: 6, trialsPerClass: 8, classes });
    expect(other.markers.map((m) => m.value)).not.toEqual(rec.markers.map((m) => m.value));
    // The session is the beginning of the live stream with the same options.
    const live = new MotorImagerySimulator({ seed: 5, classes }).next(rec.samples);
    expect(sameBytes(live.data, rec.data)).toBe(true);
    expect(live.markers).toEqual(rec.markers);
  });
});

describe('synthetic EEG physiology', () => {
  it('has a 1/f background and an occipital alpha peak', () => {
    const rec = new MotorImagerySimulator({ seed: 2 }).next(60 * RATE);
    const seg = 320; // 2 s: 0.5 Hz bins
    const cz = welch(channel(rec, 'Cz'), seg);
    expect(bandMean(cz, seg, 2, 6)).toBeGreaterThan(4 * bandMean(cz, seg, 30, 40));
    for (const label of ['O1', 'O2']) {
      const psd = welch(channel(rec, label), seg);
      const alpha = bandMean(psd, seg, 8, 12);
      expect(alpha).toBeGreaterThan(2 * bandMean(psd, seg, 4, 6.5));
      expect(alpha).toBeGreaterThan(2 * bandMean(psd, seg, 14, 18));
    }
  });

  it('desynchronises the contralateral mu/beta rhythm during imagery', async () => {
    const rec = generateMotorImagery({ seed: 11, trialsPerClass: 15, classes: ['left', 'right', 'feet'] });
    const events = { left: 'left', right: 'right', feet: 'feet' };
    const c3 = await erdPower(rec, 'C3', events);
    const c4 = await erdPower(rec, 'C4', events);
    const cz = await erdPower(rec, 'Cz', events);
    // Log power: 'left' imagery lowers C4 (right hemisphere), 'right' lowers C3, 'feet' lowers Cz.
    expect(c4.get('left')!).toBeLessThan(c4.get('right')! - 0.3);
    expect(c3.get('right')!).toBeLessThan(c3.get('left')! - 0.3);
    expect(cz.get('feet')!).toBeLessThan(Math.min(cz.get('left')!, cz.get('right')!) - 0.2);
  });

  it('is decodable across sessions by the real CSP+LDA calibration, well but not perfectly', async () => {
    const train = generateMotorImagery({ seed: 1, trialsPerClass: 40 });
    const test = generateMotorImagery({ seed: 7, trialsPerClass: 20 });
    const channels = train.info.channels.map((c) => c.label);
    const trainEpochs = await epochsFromRecording(train, channels, settings);
    expect(trainEpochs).toHaveLength(80);
    const model = await trainModel(trainEpochs, channels, RATE, settings, { validationSplits: 0 });
    const testEpochs: Epoch[] = await epochsFromRecording(test, channels, settings);
    expect(testEpochs).toHaveLength(40);
    const predicted = testEpochs.map((e) => {
      const p = model.probabilities(e);
      return model.classes[p[0] >= p[1] ? 0 : 1];
    });
    const acc = accuracy(
      testEpochs.map((e) => e.label),
      predicted,
    );
    expect(acc).toBeGreaterThanOrEqual(0.8);
    // Deterministic data: trial-to-trial variability (lapses, rhythm fluctuations) keeps it from 100 %.
    expect(acc).toBeLessThan(1);
  });
});
