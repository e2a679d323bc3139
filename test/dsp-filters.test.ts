import { readFileSync } from 'node:fs';
import path from 'node:path';
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { butterworthSos, sosFrequencyResponse, sosGain } from '../src/dsp/butterworth.js';
import { bandpass, bandstop, highpass, lowpass, notch } from '../src/dsp/filter-operators.js';
import { notchSos } from '../src/dsp/notch.js';
import { SosFilter } from '../src/dsp/sos-filter.js';
import type { Chunk, Marker, StreamInfo } from '../src/stream/types.js';
import { FIXTURES } from './helpers/data.js';

interface FixtureCase {
  name: string;
  fs: number;
  btype: 'lowpass' | 'highpass' | 'bandpass' | 'bandstop' | 'notch';
  order?: number;
  cutoff?: number | [number, number];
  f0?: number;
  Q?: number;
  channels: number;
  samples: number;
  sos: number[];
  input: number[];
  output: number[];
}

const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'scipy-filters.json'), 'utf8')) as { cases: FixtureCase[] };
const cases = fixture.cases;

function streamInfo(channels: number, sampleRate: number): StreamInfo {
  return {
    name: 'test',
    type: 'EEG',
    sourceId: 'dsp-filters.test',
    channels: Array.from({ length: channels }, (_, c) => ({ label: `Ch${c + 1}`, type: 'eeg' as const, unit: 'uV' })),
    sampleRate,
  };
}

/** Splits interleaved `data` into chunks of `size` samples (the last one may be shorter). */
function toChunks(data: Float32Array, info: StreamInfo, size: number): Chunk[] {
  const nCh = info.channels.length;
  const total = data.length / nCh;
  const chunks: Chunk[] = [];
  for (let start = 0; start < total; start += size) {
    const samples = Math.min(size, total - start);
    const markers: Marker[] = start === 0 ? [{ time: 0, value: 'start', duration: 0 }] : [];
    chunks.push({
      info,
      data: data.slice(start * nCh, (start + samples) * nCh),
      samples,
      firstSample: start,
      time: start / info.sampleRate,
      markers,
      receivedAt: 0,
    });
  }
  return chunks;
}

async function runOperator(op: OperatorFunction<Chunk, Chunk>, chunks: Chunk[]): Promise<Chunk[]> {
  return lastValueFrom(from(chunks).pipe(op, toArray()));
}

function concat(chunks: Chunk[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.data.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c.data, o);
    o += c.data.length;
  }
  return out;
}

function designFor(c: FixtureCase): Float64Array {
  if (c.btype === 'notch') return notchSos(c.f0!, c.Q!, c.fs);
  return butterworthSos(c.order!, c.cutoff!, c.fs, c.btype);
}

function operatorFor(c: FixtureCase): OperatorFunction<Chunk, Chunk> {
  switch (c.btype) {
    case 'notch':
      return notch({ freq: c.f0!, q: c.Q! });
    case 'lowpass':
      return lowpass({ cutoff: c.cutoff as number, order: c.order });
    case 'highpass':
      return highpass({ cutoff: c.cutoff as number, order: c.order });
    case 'bandpass': {
      const [low, high] = c.cutoff as [number, number];
      return bandpass({ low, high, order: c.order });
    }
    case 'bandstop': {
      const [low, high] = c.cutoff as [number, number];
      return bandstop({ low, high, order: c.order });
    }
  }
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Interleaved sines: channel c has amplitude amps[c] at freq Hz. */
function sines(freq: number, fs: number, samples: number, amps: number[]): Float32Array {
  const out = new Float32Array(samples * amps.length);
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < amps.length; c++) out[s * amps.length + c] = amps[c] * Math.sin((2 * Math.PI * freq * s) / fs + c);
  }
  return out;
}

/** Peak absolute value of channel c over samples [from, end). */
function peak(data: Float32Array, nCh: number, c: number, fromSample: number): number {
  let m = 0;
  for (let s = fromSample; s < data.length / nCh; s++) m = Math.max(m, Math.abs(data[s * nCh + c]));
  return m;
}

/**
 * Amplitude of the `freq` Hz component of channel c over samples [from, end), by projection on
 * sine and cosine (exact for a pure tone over a whole number of periods).
 */
function amplitude(data: Float32Array, nCh: number, c: number, fromSample: number, freq: number, fs: number): number {
  let re = 0;
  let im = 0;
  const n = data.length / nCh - fromSample;
  for (let s = fromSample; s < data.length / nCh; s++) {
    const w = (2 * Math.PI * freq * s) / fs;
    re += data[s * nCh + c] * Math.cos(w);
    im += data[s * nCh + c] * Math.sin(w);
  }
  return (2 / n) * Math.hypot(re, im);
}

const measured: string[] = [];
afterAll(() => {
  if (measured.length) console.info(`max relative error vs scipy sosfilt:\n${measured.join('\n')}`);
});

describe('fixture', () => {
  it('holds the expected cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    for (const c of cases) {
      expect(c.input.length).toBe(c.samples * c.channels);
      expect(c.output.length).toBe(c.samples * c.channels);
      expect(maxAbs(c.output)).toBeGreaterThan(1);
    }
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  const input = Float32Array.from(c.input);
  const info = streamInfo(c.channels, c.fs);
  const sos = designFor(c);

  it('designs the same second-order sections as scipy', () => {
    expect(sos.length).toBe(c.sos.length);
    const rel = maxAbsDiff(sos, c.sos) / maxAbs(c.sos);
    expect(rel).toBeLessThanOrEqual(1e-9);
    // Independent of pairing: the cascade's frequency response matches too.
    const ref = Float64Array.from(c.sos);
    for (const f of [0, 0.5, 3, 7, 10, 25, 30, 49, 50, 0.45 * c.fs]) {
      const h = sosFrequencyResponse(sos, f, c.fs);
      const hr = sosFrequencyResponse(ref, f, c.fs);
      expect(Math.hypot(h.re - hr.re, h.im - hr.im)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('filters the fixture input like scipy sosfilt (relative error <= 1e-4)', () => {
    const filter = new SosFilter(sos, c.channels);
    const y = filter.process(input, c.samples);
    const rel = maxAbsDiff(y, c.output) / maxAbs(c.output);
    measured.push(`  ${c.name}: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });

  it('gives identical float32 output whatever the chunk size', async () => {
    const whole = new SosFilter(sos, c.channels).process(input, c.samples);
    for (const size of [1, 7, 64, c.samples]) {
      const chunks = toChunks(input, info, size);
      const out = await runOperator(operatorFor(c), chunks);
      expect(out.length).toBe(chunks.length);
      const y = concat(out);
      expect(y).toEqual(whole);
      // Everything but the data passes through.
      expect(out[0].markers).toEqual(chunks[0].markers);
      expect(out.map((o) => o.firstSample)).toEqual(chunks.map((o) => o.firstSample));
      expect(out.map((o) => o.time)).toEqual(chunks.map((o) => o.time));
      expect(out[0].info).toBe(info);
    }
  });
});

describe('SosFilter', () => {
  const sos = butterworthSos(4, [7, 30], 160, 'bandpass');
  const signal = Float32Array.from(cases[0].input);
  const nCh = cases[0].channels;
  const samples = cases[0].samples;

  it('filters in place exactly like out of place', () => {
    const expected = new SosFilter(sos, nCh).process(signal, samples);
    const buffer = signal.slice();
    const result = new SosFilter(sos, nCh).process(buffer, samples, buffer);
    expect(result).toBe(buffer);
    expect(buffer).toEqual(expected);
  });

  it('carries state across calls and forgets it on reset()', () => {
    const filter = new SosFilter(sos, nCh);
    const whole = filter.process(signal, samples);
    filter.reset();
    const half = 333;
    const a = filter.process(signal.subarray(0, half * nCh), half);
    const b = filter.process(signal.subarray(half * nCh), samples - half);
    const joined = new Float32Array(samples * nCh);
    joined.set(a);
    joined.set(b, a.length);
    expect(joined).toEqual(whole);
    filter.reset();
    expect(filter.process(signal, samples)).toEqual(whole);
  });

  it('keeps channels independent', () => {
    const two = new SosFilter(sos, 2);
    const one = new SosFilter(sos, 1);
    const x = new Float32Array(400);
    for (let s = 0; s < 200; s++) {
      x[2 * s] = Math.sin(s / 3) * 10;
      x[2 * s + 1] = s === 0 ? 1 : 0;
    }
    const y = two.process(x, 200);
    const left = one.process(
      Float32Array.from({ length: 200 }, (_, s) => x[2 * s]),
      200,
    );
    for (let s = 0; s < 200; s++) expect(y[2 * s]).toBe(left[s]);
    // The impulse channel's response is the impulse response, not silent and not the sine.
    expect(Math.abs(y[1])).toBeGreaterThan(0);
    expect(maxAbs(Float32Array.from({ length: 200 }, (_, s) => y[2 * s + 1]))).toBeLessThan(1);
  });

  it('initSteadyState removes the start-up transient for a constant input', () => {
    const levels = [100, -37.5];
    const constant = new Float32Array(500 * 2);
    for (let s = 0; s < 500; s++) constant.set(levels, s * 2);

    const lp = new SosFilter(butterworthSos(4, 40, 250, 'lowpass'), 2);
    lp.initSteadyState(levels);
    const y = lp.process(constant, 500);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - levels[i % 2])).toBeLessThan(1e-3);

    const hp = new SosFilter(butterworthSos(2, 0.5, 250, 'highpass'), 2);
    hp.initSteadyState(levels);
    expect(maxAbs(hp.process(constant, 500))).toBeLessThan(1e-3);
    // Without it, the high-pass starts with the full step.
    hp.reset();
    expect(maxAbs(hp.process(constant, 500))).toBeGreaterThan(30);
  });

  it('rejects bad arguments, naming them', () => {
    expect(() => new SosFilter(new Float64Array(5), 1)).toThrow(/sos/);
    expect(() => new SosFilter(sos, 0)).toThrow(/channelCount/);
    expect(() => new SosFilter(Float64Array.of(1, 0, 0, 0, 0, 0), 1)).toThrow(/a0/);
    const f = new SosFilter(sos, 2);
    expect(() => f.process(new Float32Array(3), 2)).toThrow(/input/);
    expect(() => f.process(new Float32Array(4), 2, new Float32Array(2))).toThrow(/output/);
    expect(() => f.initSteadyState([1])).toThrow(/firstSample/);
  });
});

describe('closed-form responses', () => {
  const db = (g: number) => 20 * Math.log10(g);

  it('band-pass 7-30 Hz: no DC, unity in the middle, -3 dB at the edges', () => {
    for (const [order, fs] of [
      [4, 160],
      [5, 250],
      [2, 1000],
    ] as const) {
      const sos = butterworthSos(order, [7, 30], fs, 'bandpass');
      expect(sosGain(sos, 0, fs)).toBeLessThan(1e-9);
      expect(sosGain(sos, fs / 2 - 1e-9, fs)).toBeLessThan(1e-6);
      expect(Math.abs(db(sosGain(sos, Math.sqrt(7 * 30), fs)))).toBeLessThan(0.05);
      expect(db(sosGain(sos, 7, fs))).toBeCloseTo(-3.0103, 3);
      expect(db(sosGain(sos, 30, fs))).toBeCloseTo(-3.0103, 3);
      // Maximally flat: gain never exceeds 1.
      for (let f = 0.5; f < fs / 2; f += 0.5) expect(sosGain(sos, f, fs)).toBeLessThanOrEqual(1 + 1e-9);
    }
  });

  it('low-pass, high-pass and band-stop have their -3 dB points at the cutoffs', () => {
    const lp = butterworthSos(4, 40, 250, 'lowpass');
    expect(sosGain(lp, 0, 250)).toBeCloseTo(1, 12);
    expect(db(sosGain(lp, 40, 250))).toBeCloseTo(-3.0103, 3);
    expect(sosGain(lp, 100, 250)).toBeLessThan(0.01);

    const hp = butterworthSos(3, 0.5, 250, 'highpass');
    expect(hp.length).toBe(12);
    expect(sosGain(hp, 0, 250)).toBeLessThan(1e-9);
    expect(db(sosGain(hp, 0.5, 250))).toBeCloseTo(-3.0103, 3);
    expect(sosGain(hp, 20, 250)).toBeCloseTo(1, 6);

    const bs = butterworthSos(2, [48, 52], 250, 'bandstop');
    expect(sosGain(bs, 0, 250)).toBeCloseTo(1, 12);
    expect(sosGain(bs, 50, 250)).toBeLessThan(1e-3);
    expect(db(sosGain(bs, 48, 250))).toBeCloseTo(-3.0103, 3);
    expect(db(sosGain(bs, 52, 250))).toBeCloseTo(-3.0103, 3);
  });

  it('odd-order low-pass has a first-order section', () => {
    const lp = butterworthSos(3, 20, 100, 'lowpass');
    expect(lp.length).toBe(12);
    expect(db(sosGain(lp, 20, 100))).toBeCloseTo(-3.0103, 3);
    expect(sosGain(lp, 49.999, 100)).toBeLessThan(1e-3);
  });

  it('a 50 Hz notch removes a 50 Hz sine and passes 10 Hz', async () => {
    const fs = 250;
    const samples = 2500;
    const settle = 500;
    const info = streamInfo(2, fs);
    const mains = await runOperator(notch({ freq: 50 }), toChunks(sines(50, fs, samples, [100, 40]), info, 25));
    const y50 = concat(mains);
    expect(peak(y50, 2, 0, settle)).toBeLessThan(1);
    expect(peak(y50, 2, 1, settle)).toBeLessThan(0.4);
    // Not trivially zero: the transient at the start is there.
    expect(peak(y50, 2, 0, 0)).toBeGreaterThan(10);

    const alpha = concat(await runOperator(notch({ freq: 50 }), toChunks(sines(10, fs, samples, [100, 40]), info, 25)));
    // 2000 settled samples = 80 whole periods of 10 Hz.
    expect(Math.abs(amplitude(alpha, 2, 0, settle, 10, fs) - 100)).toBeLessThan(1);
    expect(Math.abs(amplitude(alpha, 2, 1, settle, 10, fs) - 40)).toBeLessThan(0.4);
    expect(amplitude(y50, 2, 0, settle, 50, fs)).toBeLessThan(1);
  });

  it('notch harmonics remove multiples below Nyquist', async () => {
    const fs = 250;
    const info = streamInfo(1, fs);
    const at100 = concat(await runOperator(notch({ freq: 50, harmonics: 3 }), toChunks(sines(100, fs, 2500, [50]), info, 100)));
    expect(peak(at100, 1, 0, 500)).toBeLessThan(0.5);
    // Without harmonics, 100 Hz passes.
    const plain = concat(await runOperator(notch({ freq: 50 }), toChunks(sines(100, fs, 2500, [50]), info, 100)));
    expect(amplitude(plain, 1, 0, 500, 100, fs)).toBeGreaterThan(49);
  });
});

describe('operators', () => {
  it('a new subscription starts from zero state', async () => {
    const c = cases[0];
    const info = streamInfo(c.channels, c.fs);
    const chunks = toChunks(Float32Array.from(c.input), info, 50);
    const filtered = from(chunks).pipe(bandpass({ low: 7, high: 30 }), toArray());
    const first = concat(await lastValueFrom(filtered));
    const second = concat(await lastValueFrom(filtered));
    expect(second).toEqual(first);
    const rel = maxAbsDiff(first, c.output) / maxAbs(c.output);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });

  it('returns a fresh data array and leaves the input untouched', async () => {
    const info = streamInfo(2, 250);
    const chunks = toChunks(sines(10, 250, 100, [1, 2]), info, 50);
    const before = chunks.map((c) => c.data.slice());
    const out = await runOperator(lowpass({ cutoff: 40 }), chunks);
    out.forEach((o, i) => {
      expect(o.data).not.toBe(chunks[i].data);
      expect(chunks[i].data).toEqual(before[i]);
    });
  });

  it('errors when the stream changes channel count or rate', async () => {
    const a = toChunks(new Float32Array(20), streamInfo(2, 250), 10);
    const b = toChunks(new Float32Array(30), streamInfo(3, 250), 10);
    await expect(runOperator(bandpass({ low: 8, high: 30 }), [a[0], b[0]])).rejects.toThrow(/bandpass.*2 channels.*3 channels/);
    const c = toChunks(new Float32Array(20), streamInfo(2, 500), 10);
    await expect(runOperator(notch({ freq: 50 }), [a[0], c[0]])).rejects.toThrow(/notch.*250 Hz.*500 Hz/);
  });

  it('errors on the first chunk when the design does not fit the rate', async () => {
    const chunks = toChunks(new Float32Array(20), streamInfo(2, 160), 10);
    await expect(runOperator(bandpass({ low: 8, high: 90 }), chunks)).rejects.toThrow('cutoff high 90 Hz must be below Nyquist (80 Hz)');
    await expect(runOperator(notch({ freq: 100 }), chunks)).rejects.toThrow(/f0 100 Hz must be below Nyquist \(80 Hz\)/);
    const irregular = toChunks(new Float32Array(20), streamInfo(2, 0), 10);
    await expect(runOperator(highpass({ cutoff: 1 }), irregular)).rejects.toThrow(/highpass.*sample rate/);
  });

  it('rejects bad options when the operator is built', () => {
    expect(() => bandpass({ low: 30, high: 7 })).toThrow(/low \(30 Hz\) must be below high \(7 Hz\)/);
    expect(() => bandpass({ low: -1, high: 7 })).toThrow(/low/);
    expect(() => bandstop({ low: 48, high: 52, order: 0 })).toThrow(/order/);
    expect(() => lowpass({ cutoff: Number.NaN })).toThrow(/cutoff/);
    expect(() => highpass({ cutoff: 1, order: 2.5 })).toThrow(/order/);
    expect(() => notch({ freq: 0 })).toThrow(/freq/);
    expect(() => notch({ freq: 50, q: 0 })).toThrow(/q/);
    expect(() => notch({ freq: 50, harmonics: 0 })).toThrow(/harmonics/);
  });
});

describe('design argument checks', () => {
  it('butterworthSos names the bad parameter', () => {
    expect(() => butterworthSos(4, 90, 160, 'lowpass')).toThrow('cutoff 90 Hz must be below Nyquist (80 Hz)');
    expect(() => butterworthSos(4, [7, 80], 160, 'bandpass')).toThrow('cutoff high 80 Hz must be below Nyquist (80 Hz)');
    expect(() => butterworthSos(4, [30, 7], 160, 'bandpass')).toThrow(/cutoff low \(30 Hz\) must be below cutoff high/);
    expect(() => butterworthSos(4, [0, 7], 160, 'bandstop')).toThrow(/cutoff low/);
    expect(() => butterworthSos(4, 7, 160, 'bandpass')).toThrow(/cutoff must be \[low, high\]/);
    expect(() => butterworthSos(4, [7, 30], 160, 'lowpass')).toThrow(/cutoff must be a single frequency/);
    expect(() => butterworthSos(0, 7, 160, 'lowpass')).toThrow(/order must be a positive integer/);
    expect(() => butterworthSos(2.5, 7, 160, 'lowpass')).toThrow(/order/);
    expect(() => butterworthSos(4, 7, 0, 'lowpass')).toThrow(/fs must be a positive sampling rate/);
    expect(() => butterworthSos(4, 7, 160, 'allpass' as never)).toThrow(/btype/);
  });

  it('notchSos names the bad parameter', () => {
    expect(() => notchSos(80, 30, 160)).toThrow('f0 80 Hz must be below Nyquist (80 Hz)');
    expect(() => notchSos(-50, 30, 250)).toThrow(/f0/);
    expect(() => notchSos(50, 0, 250)).toThrow(/Q must be a positive number/);
    expect(() => notchSos(50, 30, Number.POSITIVE_INFINITY)).toThrow(/fs/);
  });
});
