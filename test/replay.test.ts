import { lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { replayRecording } from '../devices/file/replay.js';
import { parseSourceUri } from '../devices/source-uri.js';
import type { Recording } from '../src/stream/recording.js';
import { ramp, streamInfo } from './helpers/chunks.js';

const rec: Recording = {
  info: streamInfo(2, 100),
  data: ramp(2, 250),
  samples: 250,
  markers: [
    { time: 0, value: 'start', duration: 0 },
    { time: 0.555, value: 'T1', duration: 1 },
    { time: 2.49, value: 'T2', duration: 0 },
  ],
};

describe('replay', () => {
  it('as fast as possible: every sample once, in order, markers in the chunk that spans them', async () => {
    const chunks = await lastValueFrom(replayRecording(rec, { speed: 'max', chunkSize: 16 }).pipe(toArray()));
    expect(chunks.map((c) => c.samples)).toEqual([...new Array<number>(15).fill(16), 10]);
    expect(chunks.map((c) => c.firstSample)).toEqual(Array.from({ length: 16 }, (_, i) => i * 16));
    const all = new Float32Array(500);
    chunks.forEach((c) => all.set(c.data, c.firstSample * 2));
    expect(all).toEqual(rec.data);
    const where = chunks.flatMap((c, i) => c.markers.map((m) => [m.value, i]));
    expect(where).toEqual([
      ['start', 0],
      ['T1', 3],
      ['T2', 15],
    ]); // 0.555 s = sample 55.5 -> chunk 48..63
    expect(chunks[3].time).toBeCloseTo(0.48, 12);
  });

  it('loops with continuous sample indices and shifted times and markers', async () => {
    const chunks = await lastValueFrom(replayRecording(rec, { speed: 'max', chunkSize: 50, loop: true }).pipe(take(12), toArray()));
    expect(chunks.map((c) => c.firstSample)).toEqual(Array.from({ length: 12 }, (_, i) => i * 50));
    expect(chunks[5].time).toBeCloseTo(2.5, 12);
    expect(chunks[5].data[0]).toBe(0); // second pass starts the data over
    const t1 = chunks
      .flatMap((c) => c.markers)
      .filter((m) => m.value === 'T1')
      .map((m) => m.time);
    expect(t1[0]).toBeCloseTo(0.555, 12);
    expect(t1[1]).toBeCloseTo(3.055, 12);
  });

  it('paced: chunks are never handed over before their last sample is due', async () => {
    const t0 = performance.now();
    const arrivals: number[] = [];
    await new Promise<void>((resolve) => replayRecording(rec, { speed: 5, chunkSize: 25 }).subscribe({ next: () => arrivals.push(performance.now() - t0), complete: resolve }));
    // chunk k ends at (k+1)*25 samples = (k+1)*0.25 s of signal = (k+1)*50 ms at 5x
    arrivals.forEach((ms, k) => expect(ms).toBeGreaterThanOrEqual((k + 1) * 50 - 1));
    expect(arrivals).toHaveLength(10);
  });

  it('paced at a tiny sample rate (0.000001 Hz): ends when its last sample is due, whatever the chunk size', async () => {
    // 2 samples at 1e-6 Hz span 2e6 s; at 1e7 times real time the last is due after 0.2 s. The
    // replay once waited for a whole chunk (1e8 samples: 1e10 ms, beyond what a timer holds) and
    // spun on 1 ms timers instead.
    const tiny: Recording = { info: streamInfo(1, 1e-6), data: Float32Array.from([1, 2]), samples: 2, markers: [{ time: 1e6, value: 'mid', duration: 0 }] };
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const chunks = await lastValueFrom(replayRecording(tiny, { speed: 1e7, chunkSize: 1e8 }).pipe(toArray()));
      expect(chunks.map((c) => [c.firstSample, c.samples, Array.from(c.data)])).toEqual([[0, 2, [1, 2]]]);
      expect(chunks[0].markers.map((m) => m.value)).toEqual(['mid']);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('paced at 0.001 Hz in real time: waits on timers Node can hold (no TimeoutOverflowWarning, no spinning)', async () => {
    const slow: Recording = { info: streamInfo(1, 0.001), data: Float32Array.from([1, 2, 3]), samples: 3, markers: [] };
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const got: number[] = [];
    const sub = replayRecording(slow, { speed: 1, chunkSize: 1 }).subscribe((c) => got.push(c.firstSample));
    try {
      // The replay arms its first wait (1000 s) on a 0 ms timer; a warning would be emitted on the
      // next tick after it. Timers of equal or later expiry run after it, so this one sees both.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warnings).toEqual([]);
      expect(got).toEqual([]);
    } finally {
      sub.unsubscribe();
      process.off('warning', onWarning);
    }
  });

  it('refuses to pace a stream whose sample rate is not a positive number', () => {
    expect(() => replayRecording({ ...rec, info: streamInfo(2, 0) }, { speed: 1 })).toThrow('stream "test": sample rate must be a positive finite number to pace it, got 0');
  });

  it('rejects bad pace settings naming them', () => {
    expect(() => replayRecording(rec, { chunkSize: 0 })).toThrow(/chunkSize must be a positive integer, got 0/);
    expect(() => replayRecording(rec, { speed: -1 })).toThrow(/speed must be a positive number or "max", got -1/);
  });
});

describe('source URIs', () => {
  it('parses scheme, target and parameters', () => {
    const u = parseSourceUri('file:data/S001R04.edf?speed=max&chunk=32');
    expect(u.scheme).toBe('file');
    expect(u.target).toBe('data/S001R04.edf');
    expect(u.params.get('speed')).toBe('max');
    const lsl = parseSourceUri("lsl:type='EEG' and channel_count>8?markers=type=Markers&timeout=3");
    expect(lsl.target).toBe("type='EEG' and channel_count>8");
    expect(lsl.params.get('markers')).toBe('type=Markers');
    expect(lsl.params.get('timeout')).toBe('3');
  });

  it('names what is wrong', () => {
    expect(() => parseSourceUri('recording.edf')).toThrow(/expected <scheme>:<target>/);
    expect(() => parseSourceUri('ftp:x')).toThrow(/unknown scheme "ftp"/);
    expect(() => parseSourceUri('file:')).toThrow(/nothing after "file:"/);
  });
});
