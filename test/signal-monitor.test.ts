import { describe, expect, it } from 'vitest';
import { SignalMonitor } from '../src/session/signal-monitor.js';
import type { ServerMessage } from '../src/server/messages.js';
import { streamInfo, toChunks } from './helpers/chunks.js';

type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

describe('signal monitor: frames, quality flags and spectra for viewers', () => {
  const rate = 1000;
  const seconds = 3;
  const n = rate * seconds;
  // ch0: 10 Hz, 20 µV; ch1: flat; ch2: railed at +2000 µV; ch3: 25 Hz, 300 µV (noisy)
  const info = streamInfo(4, rate, ['Oz', 'Flat', 'Rail', 'Big']);
  const data = new Float32Array(n * 4);
  for (let s = 0; s < n; s++) {
    data[s * 4] = 20 * Math.sin((2 * Math.PI * 10 * s) / rate);
    data[s * 4 + 1] = 3;
    data[s * 4 + 2] = 2000;
    data[s * 4 + 3] = 300 * Math.sin((2 * Math.PI * 25 * s) / rate);
  }
  const run = (chunk: number): ServerMessage[] => {
    const m = new SignalMonitor(info);
    return toChunks(info, data, chunk).flatMap((c) => m.push(c));
  };

  it('decimates 1 kHz to 250 Hz frames of 0.1 s, the same whatever the chunk size', () => {
    const frames = run(7).filter((m): m is Of<'signal'> => m.type === 'signal');
    expect(frames).toHaveLength(30);
    expect(frames[0]).toMatchObject({ rate: 250, channels: ['Oz', 'Flat', 'Rail', 'Big'] });
    expect(frames[0].data[0]).toHaveLength(25);
    for (let i = 1; i < frames.length; i++) expect(frames[i].t0 - frames[i - 1].t0).toBeCloseTo(0.1, 9);
    expect(run(1000).filter((m) => m.type === 'signal')).toEqual(frames);
  });

  it('flags flat, railed and noisy channels', () => {
    const last = run(50)
      .filter((m): m is Of<'signal'> => m.type === 'signal')
      .at(-1)!;
    expect(last.flags).toEqual(['ok', 'flat', 'railed', 'noisy']);
  });

  it('puts the spectral peak and the band power where the sines are', () => {
    const spectra = run(100).filter((m): m is Of<'spectrum'> => m.type === 'spectrum');
    // The first spectrum needs a full analysis window (1024 samples), then one every 0.5 s.
    expect(spectra.length).toBeGreaterThanOrEqual(4);
    const s = spectra.at(-1)!;
    const peak = s.freqs[s.power.indexOf(Math.max(...s.power))];
    expect(Math.abs(peak - 25)).toBeLessThanOrEqual(1);
    expect(s.bandEdges).toEqual({ delta: [1, 4], theta: [4, 8], alpha: [8, 13], beta: [13, 30], gamma: [30, 45] });
    // Oz carries alpha (10 Hz), Big carries beta (25 Hz).
    expect(s.bands.alpha[0]).toBeGreaterThan(s.bands.beta[0] + 20);
    expect(s.bands.beta[3]).toBeGreaterThan(s.bands.alpha[3] + 20);
    // 20 µV amplitude sine: power 200 µV², so the alpha band holds about 10·log10(200) = 23 dB.
    expect(s.bands.alpha[0]).toBeGreaterThan(21);
    expect(s.bands.alpha[0]).toBeLessThan(25);
  });
});
