import { readFileSync } from 'node:fs';
import path from 'node:path';
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bandEdges, EEG_BANDS, validateBands, type FrequencyBand } from '../src/dsp/frequency-bands.js';
import { WelchPsd } from '../src/dsp/welch.js';
import { BandFeatureExtractor, bandFeatures, computeBandFeatures, POWER_FLOOR, type BandFeatureOptions, type FeatureFrame } from '../src/features/band-features.js';
import { FeatureNormalizer, normalizeFeatures, zscoreWith } from '../src/features/feature-normalizer.js';
import type { Chunk, StreamInfo } from '../src/stream/types.js';
import { streamInfo, toChunks } from './helpers/chunks.js';
import { FIXTURES } from './helpers/data.js';

interface FixtureSignal {
  name: string;
  fs: number;
  labels: string[];
  samples: number;
  data: number[];
}

interface FixtureFrame {
  firstSample: number;
  endSample: number;
  logPower: number[];
  de: number[];
  asymmetry: number[];
}

interface FixtureCase {
  name: string;
  signal: number;
  options: BandFeatureOptions;
  asymmetryPairs: [string, string][];
  nperseg: number;
  noverlap: number;
  channelsOut: string[];
  firstWindowPsd: { freqs: number[]; psd: number[] };
  frames: FixtureFrame[];
}

const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'emotion-features.json'), 'utf8')) as { signals: FixtureSignal[]; cases: FixtureCase[] };

const REL_TOL = 1e-4;

function signalOf(i: number): { info: StreamInfo; data: Float32Array } {
  const s = fixture.signals[i];
  return { info: streamInfo(s.labels.length, s.fs, s.labels), data: Float32Array.from(s.data) };
}

async function run<T>(chunks: Chunk[], op: OperatorFunction<Chunk, T>): Promise<T[]> {
  return lastValueFrom(from(chunks).pipe(op, toArray()));
}

/** Largest |a − b| / |b| (b the reference); exact zeros in b compare absolutely. */
function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const err = Math.abs(actual[i] - e) / (e === 0 ? 1 : Math.abs(e));
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  return worst;
}

/** Interleaved sines: channel c = amps[c] · sin(2π·freq·t + c) plus `offset`. */
function sines(freq: number, fs: number, samples: number, amps: number[], offset = 0): Float32Array {
  const out = new Float32Array(samples * amps.length);
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < amps.length; c++) out[s * amps.length + c] = offset + amps[c] * Math.sin((2 * Math.PI * freq * s) / fs + c);
  }
  return out;
}

describe('emotion features match NumPy/SciPy (test/fixtures/emotion-features.json)', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: log band power, DE and FAA within ${REL_TOL} relative error of scipy`, async () => {
      const { info, data } = signalOf(c.signal);
      const frames = await run(toChunks(info, data, 32), bandFeatures(c.options));
      expect(frames).toHaveLength(c.frames.length);
      let worst = 0;
      frames.forEach((f, i) => {
        const ref = c.frames[i];
        expect(f.firstSample).toBe(ref.firstSample);
        expect(f.endTime).toBeCloseTo(ref.endSample / info.sampleRate, 9);
        expect(f.channels).toEqual(c.channelsOut);
        expect(f.bands).toEqual(c.options.bands!.map((b) => b.name));
        expect(f.asymmetryPairs).toEqual(c.asymmetryPairs);
        worst = Math.max(worst, maxRelErr(f.logPower, ref.logPower), maxRelErr(f.de, ref.de), maxRelErr(f.asymmetry, ref.asymmetry));
      });
      expect(worst).toBeLessThan(REL_TOL);
    });

    it(`${c.name}: WelchPsd of the first window equals scipy.signal.welch within ${REL_TOL} relative error`, () => {
      const { info, data } = signalOf(c.signal);
      const fs = info.sampleRate;
      const labels = info.channels.map((ch) => ch.label);
      const picks = c.channelsOut.map((l) => labels.indexOf(l));
      const n = Math.round(c.options.window! * fs);
      const nIn = labels.length;
      const w = new Float32Array(n * picks.length);
      for (let s = 0; s < n; s++) picks.forEach((p, k) => (w[s * picks.length + k] = data[s * nIn + p]));
      const welch = new WelchPsd({ sampleRate: fs, channels: picks.length, nperseg: c.nperseg, noverlap: c.noverlap });
      expect(welch.method).toBe((c.nperseg & (c.nperseg - 1)) === 0 ? 'fft' : 'dft');
      expect(welch.bins).toBe(c.firstWindowPsd.freqs.length);
      expect(maxRelErr(welch.frequencies, c.firstWindowPsd.freqs)).toBeLessThan(1e-7);
      const psd = welch.psd(w, n, new Float64Array(picks.length * welch.bins));
      expect(maxRelErr(psd, c.firstWindowPsd.psd)).toBeLessThan(REL_TOL);
    });
  }

  it('the fixture covers the FFT and the DFT (even and odd nperseg) paths', () => {
    expect(fixture.cases.map((c) => c.nperseg)).toEqual(expect.arrayContaining([128, 200, 199, 64]));
  });
});

describe('band features stream', () => {
  const { info, data } = signalOf(0);
  const frameData = (f: FeatureFrame) => ({ ...f, receivedAt: 0 });

  it('gives identical frames for chunks of 1, 7 and 1000 samples (causal, stateful across chunks)', async () => {
    const opts: BandFeatureOptions = { window: 1.5, hop: 0.3 };
    const [a, b, c] = await Promise.all([1, 7, 1000].map((size) => run(toChunks(info, data, size), bandFeatures(opts))));
    expect(a.length).toBeGreaterThan(40);
    expect(b.map(frameData)).toEqual(a.map(frameData));
    expect(c.map(frameData)).toEqual(a.map(frameData));
    // And the offline helper computes the same frames.
    expect(computeBandFeatures(info, data, opts).map(frameData)).toEqual(a.map(frameData));
  });

  it('also for a non-power-of-two Welch segment (chunks of 1 vs 1000 samples)', async () => {
    const s = signalOf(1);
    const [a, c] = await Promise.all([1, 1000].map((size) => run(toChunks(s.info, s.data, size), bandFeatures({}))));
    expect(a.length).toBe(17);
    // endTime is the input's own clock (chunk.time + s / fs), which toChunks rounds differently per
    // chunking at 200 Hz; everything computed from the samples is identical.
    a.forEach((f, i) => {
      expect(c[i].endTime).toBeCloseTo(f.endTime, 12);
      expect(c[i].startTime).toBeCloseTo(f.startTime, 12);
    });
    expect(c.map((f) => ({ ...f, endTime: 0, startTime: 0 }))).toEqual(a.map((f) => ({ ...f, endTime: 0, startTime: 0 })));
  });

  it('times frames like slidingWindows: first window ends at sample L-1, then every hop; endTime on the stream clock', async () => {
    const fs = info.sampleRate;
    const t0 = 1000.25;
    const offset = 5000;
    const chunks = toChunks(info, data, 100).map((ch) => ({ ...ch, time: t0 + ch.firstSample / fs, firstSample: ch.firstSample + offset, receivedAt: ch.firstSample }));
    const frames = await run(chunks, bandFeatures({ window: 2, hop: 0.5 }));
    const L = 256;
    const hop = 64;
    expect(frames).toHaveLength(Math.floor((data.length / 6 - L) / hop) + 1);
    frames.forEach((f, i) => {
      const last = L - 1 + i * hop;
      expect(f.firstSample).toBe(offset + last - L + 1);
      expect(f.endTime).toBeCloseTo(t0 + last / fs, 9);
      expect(f.startTime).toBeCloseTo(t0 + (last - L + 1) / fs, 9);
      // receivedAt of the chunk holding the window's last sample
      expect(f.receivedAt).toBe(Math.floor(last / 100) * 100);
      expect(f.logPower).toHaveLength(6 * 5);
      expect(f.de).toHaveLength(6 * 5);
    });
  });

  it('uses every EEG channel by default, skipping other types', () => {
    const mixed: StreamInfo = { ...info, channels: info.channels.map((ch, i) => (i === 4 ? { ...ch, type: 'eog' as const } : ch)) };
    const frames = computeBandFeatures(mixed, data, { window: 2, hop: 4 });
    expect(frames[0].channels).toEqual(['F3', 'F4', 'AF3', 'AF4', 'O2']);
  });

  it('puts a sine in its band: log power and DE of the band match the closed form', () => {
    // 20 µV at 10 Hz on a 30 µV offset: alpha power ≈ A²/2 = 200 µV², the filtered variance ≈ 200.
    const fs = 128;
    const x = sines(10, fs, 8 * fs, [20], 30);
    const frames = computeBandFeatures(streamInfo(1, fs, ['Oz']), x, { window: 4, hop: 1 });
    const last = frames.at(-1)!;
    const alpha = 2;
    expect(last.logPower[alpha]).toBeCloseTo(Math.log10(200), 2);
    expect(last.de[alpha]).toBeCloseTo(0.5 * Math.log(2 * Math.PI * Math.E * 200), 1);
    for (const b of [0, 1, 3, 4]) expect(last.logPower[b]).toBeLessThan(last.logPower[alpha] - 3);
  });

  it('keeps features finite on a flat channel (powers floored at POWER_FLOOR)', () => {
    const fs = 128;
    const x = new Float32Array(4 * fs * 2).fill(12); // two channels, constant
    const frames = computeBandFeatures(streamInfo(2, fs, ['F3', 'F4']), x, { window: 2, hop: 1 });
    for (const f of frames) {
      for (const v of [...f.logPower, ...f.de, ...f.asymmetry]) expect(Number.isFinite(v)).toBe(true);
      expect(f.logPower[0]).toBeCloseTo(Math.log10(POWER_FLOOR), 3);
      expect(f.asymmetry[0]).toBe(0);
    }
  });

  it('detects frontal pairs case-insensitively, ignoring trailing dots and EEG prefixes; FAA = ln P_right − ln P_left', () => {
    const labels = ['fp1.', 'FP2..', 'Fc5.', 'EEG F3', 'f4', 'F8', 'af4'];
    const fs = 128;
    const amps = [5, 10, 3, 4, 12, 6, 7];
    const x = sines(10, fs, 4 * fs, amps);
    const frames = computeBandFeatures(streamInfo(labels.length, fs, labels), x, { window: 2, hop: 1 });
    const f = frames[0];
    expect(f.asymmetryPairs).toEqual([
      ['fp1.', 'FP2..'],
      ['EEG F3', 'f4'],
    ]);
    const alpha = f.bands.indexOf('alpha');
    const lnAlpha = (c: number): number => Math.LN10 * f.logPower[c * f.bands.length + alpha];
    expect(f.asymmetry[0]).toBeCloseTo(lnAlpha(1) - lnAlpha(0), 4);
    expect(f.asymmetry[1]).toBeCloseTo(lnAlpha(4) - lnAlpha(3), 4);
    // 12 µV right vs 4 µV left at 10 Hz: ln(144 / 16)
    expect(f.asymmetry[1]).toBeCloseTo(Math.log(9), 2);
  });

  it('takes explicit asymmetry pairs by loose label, and has none without frontal channels or an alpha band', () => {
    const labels = ['Fc5.', 'Fc6.', 'O1', 'O2'];
    const fs = 128;
    const x = sines(10, fs, 3 * fs, [1, 2, 3, 4]);
    const i2 = streamInfo(4, fs, labels);
    expect(computeBandFeatures(i2, x, { asymmetryPairs: [['FC5', 'fc6']] })[0].asymmetryPairs).toEqual([['Fc5.', 'Fc6.']]);
    const none = computeBandFeatures(i2, x, {})[0];
    expect(none.asymmetryPairs).toEqual([]);
    expect(none.asymmetry).toHaveLength(0);
    const noAlpha = computeBandFeatures(streamInfo(2, fs, ['F3', 'F4']), x.subarray(0, 2 * 3 * fs), { bands: [{ name: 'beta', low: 13, high: 30 }] });
    expect(noAlpha[0].asymmetryPairs).toEqual([]);
  });

  it('picks channels by label, in the given order', () => {
    const frames = computeBandFeatures(info, data, { channels: ['o2', 'F3.'], window: 2, hop: 8 });
    expect(frames[0].channels).toEqual(['O2', 'F3']);
    expect(frames[0].asymmetryPairs).toEqual([]);
    expect(frames[0].logPower).toHaveLength(2 * 5);
  });

  it('rejects bad options with errors naming the option', async () => {
    const bad = (opts: BandFeatureOptions) => () => bandFeatures(opts);
    expect(bad({ window: 0 })).toThrow(/window must be a positive number of seconds/);
    expect(bad({ hop: -1 })).toThrow(/hop must be a positive/);
    expect(bad({ window: 0.5 })).toThrow(/welchSegment \(1 s\) must not be longer than window \(0.5 s\)/);
    expect(bad({ welchOverlap: 1 })).toThrow(/welchOverlap must be a fraction in \[0, 1\)/);
    expect(bad({ filterOrder: 0 })).toThrow(/filterOrder must be a positive integer/);
    expect(bad({ bands: [] })).toThrow(/bands must be a non-empty list/);
    expect(bad({ bands: [{ name: 'mu', low: 12, high: 8 }] })).toThrow(/bands: band "mu" \[12, 8\] Hz must have low < high/);
    expect(
      bad({
        bands: [
          { name: 'mu', low: 8, high: 12 },
          { name: 'mu', low: 12, high: 14 },
        ],
      }),
    ).toThrow(/band "mu" appears twice/);
    expect(bad({ bands: [{ name: 'beta', low: 13, high: 30 }], asymmetryPairs: [['F3', 'F4']] })).toThrow(/asymmetryPairs need a band named "alpha"/);
    expect(bad({ asymmetryPairs: [['F3', 'f3']] })).toThrow(/asymmetryPairs\[0\] pairs channel F3 with itself/);
    expect(bad({ channels: [] })).toThrow(/channels must be a non-empty list/);

    // Checks that need the stream's rate or channels fail the stream.
    const chunks = toChunks(info, data, 500);
    await expect(run(chunks, bandFeatures({ bands: [...EEG_BANDS, { name: 'high gamma', low: 50, high: 70 }] }))).rejects.toThrow(
      /bands: band "high gamma" \[50, 70\] Hz must end below Nyquist \(64 Hz at 128 Hz\)/,
    );
    await expect(run(chunks, bandFeatures({ welchOverlap: 0.999 }))).rejects.toThrow(/welchOverlap 0.999 leaves no step/);
    await expect(run(chunks, bandFeatures({ bands: [{ name: 'narrow', low: 8.2, high: 8.6 }] }))).rejects.toThrow(/band "narrow" \[8.2, 8.6\] Hz holds no Welch bin/);
    await expect(run(chunks, bandFeatures({ channels: ['F3', 'Cz'] }))).rejects.toThrow(/channels: channel\(s\) not in stream: Cz/);
    await expect(run(chunks, bandFeatures({ asymmetryPairs: [['F7', 'F8']] }))).rejects.toThrow(/asymmetryPairs\[0\]: channel\(s\) not in stream: F7, F8/);
    const eogOnly: StreamInfo = { ...info, channels: info.channels.map((ch) => ({ ...ch, type: 'eog' as const })) };
    await expect(run(toChunks(eogOnly, data, 500), bandFeatures())).rejects.toThrow(/no EEG channels/);
  });

  it('errors when the stream changes channel count', async () => {
    const a = toChunks(info, data.subarray(0, 6 * 300), 300)[0];
    const info4 = streamInfo(4, 128, ['F3', 'F4', 'AF3', 'AF4']);
    const b = { ...toChunks(info4, new Float32Array(4 * 300), 300)[0], firstSample: 300 };
    await expect(run([a, b], bandFeatures())).rejects.toThrow(/bandFeatures: stream changed from 6 channels at 128 Hz to 4 channels at 128 Hz/);
  });

  it('the extractor exposes its layout and window sizes', () => {
    const x = new BandFeatureExtractor(info, { window: 2, hop: 0.25, welchSegment: 1.5 });
    expect([x.windowSamples, x.hopSamples, x.welch.nperseg, x.welch.noverlap, x.welch.method]).toEqual([256, 32, 192, 96, 'dft']);
    expect(x.bands).toEqual(['delta', 'theta', 'alpha', 'beta', 'gamma']);
    expect(x.asymmetryPairs).toEqual([
      ['AF3', 'AF4'],
      ['F3', 'F4'],
    ]);
  });
});

describe('frequency bands', () => {
  it('EEG_BANDS are the canonical five, in order, and the signal monitor uses them', () => {
    expect(EEG_BANDS.map((b) => [b.name, b.low, b.high])).toEqual([
      ['delta', 1, 4],
      ['theta', 4, 8],
      ['alpha', 8, 13],
      ['beta', 13, 30],
      ['gamma', 30, 45],
    ]);
    expect(bandEdges()).toEqual({ delta: [1, 4], theta: [4, 8], alpha: [8, 13], beta: [13, 30], gamma: [30, 45] });
    expect(Object.isFrozen(EEG_BANDS)).toBe(true);
  });

  it('validates custom bands against Nyquist, naming the band', () => {
    const bands: FrequencyBand[] = [
      { name: 'mu', low: 8, high: 12 },
      { name: 'gamma', low: 30, high: 50 },
    ];
    expect(validateBands(bands, 250)).toEqual(bands);
    expect(() => validateBands(bands, 100)).toThrow(/bands: band "gamma" \[30, 50\] Hz must end below Nyquist \(50 Hz at 100 Hz\)/);
    expect(() => validateBands([{ name: 'dc', low: 0, high: 1 }])).toThrow(/band "dc" \[0, 1\] Hz must have a positive low edge/);
    expect(() => validateBands([{ name: '', low: 1, high: 2 }], undefined, 'myBands')).toThrow(/myBands\[0\] needs a non-empty name/);
    expect(() => validateBands([{ name: 'x', low: Number.NaN, high: 2 }])).toThrow(/band "x" needs finite edges/);
  });
});

describe('WelchPsd', () => {
  it('one-sided density integrates to the variance of white-ish noise; errors name the option', () => {
    const fs = 100;
    const n = 4000;
    let seed = 1;
    const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const x = Float32Array.from({ length: n }, () => rand());
    let mean = 0;
    for (const v of x) mean += v / n;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2 / n;
    for (const nperseg of [128, 100]) {
      const w = new WelchPsd({ sampleRate: fs, channels: 1, nperseg });
      const psd = w.psd(x, n, new Float64Array(w.bins));
      expect(w.bandPower(psd, 0, 0, fs)).toBeGreaterThan(variance * 0.9);
      expect(w.bandPower(psd, 0, 0, fs)).toBeLessThan(variance * 1.1);
    }
    expect(() => new WelchPsd({ sampleRate: fs, channels: 1, nperseg: 1 })).toThrow(/nperseg must be an integer of at least 2/);
    expect(() => new WelchPsd({ sampleRate: fs, channels: 1, nperseg: 64, noverlap: 64 })).toThrow(/noverlap must be an integer with 0 <= noverlap < nperseg/);
    const w = new WelchPsd({ sampleRate: fs, channels: 1, nperseg: 64, maxFrequency: 10 });
    expect(w.bins).toBe(7); // 0, 1.5625, ..., 9.375 Hz
    expect(w.segmentCount(63)).toBe(0);
    expect(w.segmentCount(64 + 32 * 3)).toBe(4);
    expect(() => w.psd(x, 63, new Float64Array(7))).toThrow(/63 samples are fewer than one segment/);
  });
});

describe('feature normalisation', () => {
  it('z-scores a known baseline to mean 0 and standard deviation 1 (closed form)', () => {
    // Feature 0 alternates 1, 3 (mean 2, sd 1); feature 1 is 10, 20, 30, 40 (mean 25, var 125).
    const baseline = [
      [1, 10],
      [3, 20],
      [1, 30],
      [3, 40],
    ].map((v) => Float32Array.from(v));
    const norm = new FeatureNormalizer(2, { baselineFrames: 4 });
    baseline.forEach((v) => norm.observe(v));
    expect(norm.frozen).toBe(true);
    expect(Array.from(norm.mean())).toEqual([2, 25]);
    expect(Array.from(norm.variance())).toEqual([1, 125]);
    const z = baseline.map((v) => norm.apply(v));
    expect(z.map((v) => v[0])).toEqual([-1, 1, -1, 1]);
    const z1 = z.map((v) => v[1]);
    const s = Math.sqrt(125);
    z1.forEach((v, i) => expect(v).toBeCloseTo((10 * (i + 1) - 25) / s, 6));
    const m = z1.reduce((a, b) => a + b, 0) / 4;
    expect(m).toBeCloseTo(0, 6);
    expect(Math.sqrt(z1.reduce((a, b) => a + (b - m) ** 2, 0) / 4)).toBeCloseTo(1, 6);
    // Baseline mode: later observations do not move the statistics.
    norm.observe(Float32Array.from([100, 100]));
    expect(Array.from(norm.mean())).toEqual([2, 25]);
    // zscoreWith gives the same numbers offline.
    expect(zscoreWith(baseline, baseline)).toEqual(z);
  });

  it('running mode follows a level shift with the documented half-life', () => {
    const halfLife = 10;
    const norm = new FeatureNormalizer(1, { mode: 'running', halfLife });
    for (let i = 0; i < 50; i++) norm.observe([i % 2 === 0 ? -1 : 1]);
    norm.freeze();
    expect(norm.mean()[0]).toBeCloseTo(0, 12);
    const shift = 8;
    const z: number[] = [];
    for (let k = 1; k <= 3 * halfLife; k++) {
      z.push(norm.apply([shift])[0]);
      norm.observe([shift]);
      if (k === halfLife) expect(norm.mean()[0]).toBeCloseTo(shift / 2, 9);
      if (k === 2 * halfLife) expect(norm.mean()[0]).toBeCloseTo((3 * shift) / 4, 9);
    }
    expect(norm.mean()[0]).toBeCloseTo((7 * shift) / 8, 9);
    expect(z[0]).toBeCloseTo(shift, 5); // first shifted frame: baseline stats (mean 0, sd 1)
    for (let i = 1; i < z.length; i++) expect(z[i]).toBeLessThan(z[i - 1]);
    // The same shift in baseline mode keeps its z-score.
    const fixed = new FeatureNormalizer(1, { baselineFrames: 2 });
    fixed.observe([-1]);
    fixed.observe([1]);
    for (let k = 0; k < 20; k++) fixed.observe([shift]);
    expect(fixed.apply([shift])[0]).toBe(shift);
  });

  it('a zero-variance feature is only centred, never NaN', () => {
    const norm = new FeatureNormalizer(2);
    for (let i = 0; i < 5; i++) norm.observe([7, i]);
    norm.freeze();
    const out = norm.apply([9, 2], new Float32Array(2));
    expect(out[0]).toBe(2);
    expect(out[1]).toBe(0);
    expect(Array.from(norm.apply([7, 4])).every(Number.isFinite)).toBe(true);
    const running = new FeatureNormalizer(1, { mode: 'running', halfLife: 3, baselineFrames: 3 });
    for (let i = 0; i < 10; i++) running.observe([4]);
    expect(running.apply([4])[0]).toBe(0);
    expect(running.apply([5])[0]).toBe(1);
  });

  it('rejects misuse with clear errors', () => {
    expect(() => new FeatureNormalizer(2).apply([1, 2])).toThrow(/no baseline frame observed yet/);
    expect(() => new FeatureNormalizer(2).freeze()).toThrow(/no baseline frame observed yet/);
    expect(() => new FeatureNormalizer(2).observe([1])).toThrow(/got 1 features, expected 2/);
    expect(() => new FeatureNormalizer(1).observe([Number.NaN])).toThrow(/feature 0 is NaN/);
    expect(() => new FeatureNormalizer(1, { halfLife: 0 })).toThrow(/halfLife must be a positive number of frames/);
    expect(() => new FeatureNormalizer(1, { baselineFrames: 1.5 })).toThrow(/baselineFrames must be a positive integer/);
    expect(() => new FeatureNormalizer(1, { mode: 'median' as 'running' })).toThrow(/mode must be 'baseline' or 'running'/);
    expect(() => zscoreWith([], [])).toThrow(/statsFrom is empty/);
    expect(() => normalizeFeatures({ baselineSeconds: 0 })).toThrow(/baselineSeconds must be a positive number of seconds/);
  });

  it('normalizeFeatures: the first baselineSeconds calibrate (not emitted), later frames are z-scored per feature group', async () => {
    const { info, data } = signalOf(0);
    const raw = computeBandFeatures(info, data, { window: 2, hop: 0.5 });
    const frames = await lastValueFrom(from(raw).pipe(normalizeFeatures({ baselineSeconds: 4 }), toArray()));
    // Windows of 2 s every 0.5 s from sample 0 (128 Hz): the 5 ending by 4 s (at 1.99, 2.49, ...,
    // 3.99 s) lie wholly within the first 4 s and are the baseline.
    expect(frames).toHaveLength(raw.length - 5);
    expect(frames[0].endTime).toBeCloseTo(raw[5].endTime, 12);
    const expected = (key: 'logPower' | 'de' | 'asymmetry'): Float32Array[] =>
      zscoreWith(
        raw.slice(0, 5).map((f) => f[key]),
        raw.slice(5).map((f) => f[key]),
      );
    for (const key of ['logPower', 'de', 'asymmetry'] as const) {
      expect(frames.map((f) => f[key])).toEqual(expected(key));
    }
    expect(frames[0].channels).toBe(raw[0].channels);
    expect(frames[0].asymmetryPairs).toEqual([
      ['AF3', 'AF4'],
      ['F3', 'F4'],
    ]);

    const running = await lastValueFrom(from(raw).pipe(normalizeFeatures({ baselineSeconds: 4, mode: 'running', halfLife: 4 }), toArray()));
    expect(running[0]).toEqual(frames[0]); // first frame after the baseline: same statistics
    expect(running[5].de).not.toEqual(frames[5].de);
  });

  it('normalizeFeatures drops a frame with a non-finite feature instead of failing the stream', async () => {
    const { info, data } = signalOf(0);
    const raw = computeBandFeatures(info, data, { window: 2, hop: 0.5 });
    const broken = raw.map((f, i) => (i === 2 || i === 9 ? { ...f, de: f.de.map((v, k) => (k === 3 ? NaN : v)) } : f));
    const frames = await lastValueFrom(from(broken).pipe(normalizeFeatures({ baselineSeconds: 4 }), toArray()));
    // baseline: frames 0-4 without frame 2; frame 9 is dropped from the output
    expect(frames.map((f) => f.endTime)).toEqual(
      raw
        .slice(5)
        .filter((_, i) => i !== 4)
        .map((f) => f.endTime),
    );
    const expected = zscoreWith(
      [0, 1, 3, 4].map((i) => raw[i].de),
      [raw[5].de],
    );
    expect(frames[0].de).toEqual(expected[0]);
    for (const f of frames) expect(f.de.every(Number.isFinite)).toBe(true);
  });

  it('normalizeFeatures errors when the frame layout changes', async () => {
    const { info, data } = signalOf(0);
    const six = computeBandFeatures(info, data, { window: 2, hop: 2 });
    const two = computeBandFeatures(info, data, { window: 2, hop: 2, channels: ['F3', 'F4'] });
    await expect(lastValueFrom(from([six[0], two[1]]).pipe(normalizeFeatures({ baselineSeconds: 10 }), toArray()))).rejects.toThrow(
      /frame layout changed from 6 channels x 5 bands \+ 2 pairs to 2 channels x 5 bands \+ 1 pairs/,
    );
  });
});
