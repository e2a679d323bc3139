import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decimate } from '../src/dsp/decimate.js';
import { baselineCorrection, subtractBaseline } from '../src/dsp/baseline.js';
import { markerEpochs } from '../src/dsp/epochs.js';
import type { Chunk, Marker } from '../src/stream/types.js';
import { streamInfo, toChunks } from './helpers/chunks.js';

const run = (chunks: Chunk[], op: ReturnType<typeof decimate>): Promise<Chunk[]> => lastValueFrom(from(chunks).pipe(op, toArray()));

/** Two channels: a 10 Hz sine of amplitude 1 and a 180 Hz sine of amplitude 1, at 1 kHz. */
function sines(samples: number): Float32Array {
  const d = new Float32Array(samples * 2);
  for (let s = 0; s < samples; s++) {
    d[s * 2] = Math.sin((2 * Math.PI * 10 * s) / 1000);
    d[s * 2 + 1] = Math.sin((2 * Math.PI * 180 * s) / 1000);
  }
  return d;
}

describe('decimate (streaming downsampling)', () => {
  it('keeps every factor-th sample of the anti-aliased stream, whatever the chunking', async () => {
    const info = streamInfo(2, 1000);
    const data = sines(5000);
    const markers: Marker[] = [
      { time: 1.2345, value: 'image a', duration: 0 },
      { time: 3.0001, value: 'image b', duration: 0 },
    ];
    const outs = await Promise.all([1, 7, 333, 5000].map((size) => run(toChunks(info, data, size, markers), decimate({ factor: 10 }))));
    const flat = outs.map((o) => Float32Array.from(o.flatMap((c) => Array.from(c.data))));
    for (const f of flat.slice(1)) expect(f).toEqual(flat[0]);
    expect(flat[0].length).toBe(500 * 2);
    for (const o of outs) {
      expect(o[0].info.sampleRate).toBe(100);
      expect(o.flatMap((c) => c.markers)).toEqual(markers); // none lost, even from chunks that keep no sample
      let next = 0;
      for (const c of o) {
        expect(c.firstSample).toBe(next);
        expect(c.time).toBeCloseTo(next / 100, 12);
        next += c.samples;
      }
    }
  });

  it('passes 10 Hz and removes 180 Hz, which would alias to 20 Hz at 100 Hz (8th-order low-pass at 40 Hz)', async () => {
    const info = streamInfo(2, 1000);
    const out = await run(toChunks(info, sines(5000), 64), decimate({ factor: 10 }));
    const d = Float32Array.from(out.flatMap((c) => Array.from(c.data)));
    // steady state (after 1 s): RMS of a unit sine is 0.707
    const rms = (c: number): number => {
      let s = 0;
      let n = 0;
      for (let i = 100; i < 500; i++, n++) s += d[i * 2 + c] ** 2;
      return Math.sqrt(s / n);
    };
    expect(rms(0)).toBeGreaterThan(0.69);
    expect(rms(0)).toBeLessThan(0.72);
    expect(rms(1)).toBeLessThan(0.001); // below -57 dB
  });

  it('names a bad factor', () => {
    expect(() => decimate({ factor: 2.5 })).toThrow(/factor must be an integer >= 1, got 2.5/);
  });
});

describe('epochs at image onsets with baseline correction', () => {
  it("cuts epochs for markers a function accepts and removes each channel's baseline mean", async () => {
    const info = streamInfo(2, 100);
    const data = new Float32Array(1000 * 2);
    for (let s = 0; s < 1000; s++) {
      data[s * 2] = 5 + (s % 7);
      data[s * 2 + 1] = -3;
    }
    const markers: Marker[] = [
      { time: 2, value: 'image cat', duration: 0 },
      { time: 4, value: 'noise', duration: 0 },
      { time: 6.5, value: 'image dog', duration: 0 },
    ];
    const epochs = await lastValueFrom(
      from(toChunks(info, data, 33, markers)).pipe(
        markerEpochs({ events: (v) => /^image (.+)$/.exec(v)?.[1], tmin: -0.2, tmax: 0.5 }),
        baselineCorrection({ tmin: -0.2, from: -0.2, to: 0 }),
        toArray(),
      ),
    );
    expect(epochs.map((e) => e.label)).toEqual(['cat', 'dog']);
    expect(epochs[0].samples).toBe(71);
    for (const e of epochs) {
      // channel 1 is constant: exactly 0 after correction; channel 0's baseline (21 samples) mean is 0
      for (let s = 0; s < e.samples; s++) expect(e.data[s * 2 + 1]).toBe(0);
      let m = 0;
      for (let s = 0; s <= 20; s++) m += e.data[s * 2];
      expect(Math.abs(m / 21)).toBeLessThan(1e-5);
    }
    expect(() => subtractBaseline(new Float32Array(10), 5, 2, 3, 7)).toThrow(/baseline samples \[3, 7\] are outside the epoch's 0..4/);
  });
});
