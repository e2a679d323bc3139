import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseXdf, readXdf } from '../devices/file/xdf-reader.js';
import { XdfWriter } from '../devices/file/xdf-writer.js';
import { BOUNDARY_UUID } from '../devices/file/xdf-format.js';

const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-xdfw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const exact = { synchronizeClocks: false, dejitterTimestamps: false } as const;

/** Counts the boundary chunks' UUIDs in a file. */
function boundaries(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(BOUNDARY_UUID); at >= 0; at = bytes.indexOf(BOUNDARY_UUID, at + 1)) n++;
  return n;
}

describe('XdfWriter: what neurorx writes reads back exactly', () => {
  it('every channel format, regular and irregular timestamps, several flushes, footers', async () => {
    const file = path.join(dir, 'all-formats.xdf');
    const w = new XdfWriter(file, { flushIntervalMs: 60_000, boundaryIntervalMs: 0 });
    const rate = 250;
    const ch = (n: number) => Array.from({ length: n }, (_, k) => ({ label: `c${k}`, unit: 'uV', type: 'EEG' }));
    const ids = {
      f32: w.addStream({ name: 'float', type: 'EEG', channelFormat: 'float32', channels: ch(3), nominalSrate: rate }),
      f64: w.addStream({ name: 'double', type: 'AUX', channelFormat: 'double64', channels: ch(2), nominalSrate: 100 }),
      i8: w.addStream({ name: 'int8', type: 'x', channelFormat: 'int8', channels: ch(2), nominalSrate: 0 }),
      i16: w.addStream({ name: 'int16', type: 'x', channelFormat: 'int16', channels: ch(2), nominalSrate: 10 }),
      i32: w.addStream({ name: 'int32', type: 'x', channelFormat: 'int32', channels: ch(1), nominalSrate: 0 }),
      i64: w.addStream({ name: 'int64', type: 'x', channelFormat: 'int64', channels: ch(2), nominalSrate: 0 }),
      str: w.addStream({ name: 'strings', type: 'Markers', channelFormat: 'string', channels: ch(2), nominalSrate: 0 }),
    };
    // float32: 1000 samples in 10 pushes; times t0 + s/rate (deducible only where the double is exact)
    const f32 = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i * 0.37) * 1e3 + i * 1e-3);
    const t32 = Float64Array.from({ length: 1000 }, (_, s) => 1234.5 + s / rate);
    for (let k = 0; k < 10; k++) {
      w.push(ids.f32, f32, t32, k * 100, 100);
      if (k === 4) w.flush();
    }
    const f64 = Float64Array.from({ length: 40 }, (_, i) => Math.PI * i * 1e-300 + i);
    const t64 = Float64Array.from({ length: 20 }, (_, s) => 7 + s * 0.01 + (s % 3) * 1e-5); // jittered
    w.push(ids.f64, f64, t64);
    w.push(ids.i8, Int8Array.from([-128, 127, 0, -1]), [1, 1]); // equal timestamps on an irregular stream
    w.push(ids.i16, Int16Array.from([-32768, 32767, 5, -5]), [2, 2.1]);
    w.push(ids.i32, Int32Array.from([-2147483648, 2147483647]), [3, 4]);
    w.push(ids.i64, BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 12345678901234567n, -1n]), [5, 6]);
    const long = 'é'.repeat(300); // 600 UTF-8 bytes: a 4-byte length
    w.push(ids.str, ['left', 'ünïcødé ✓', '', long], [8.25, 9.5]);
    w.clockOffset(ids.f32, 1300, -0.25);
    w.clockOffset(ids.f32, 1305, -0.25);
    w.close();

    const doc = await readXdf(file, exact);
    expect(doc.warnings).toEqual([]);
    expect(doc.streams.map((s) => s.name)).toEqual(['float', 'double', 'int8', 'int16', 'int32', 'int64', 'strings']);
    const by = (name: string) => doc.streams.find((s) => s.name === name)!;
    expect(by('float').channelFormat).toBe('float32');
    expect(by('float').nominalSrate).toBe(250);
    expect(by('float').channels.map((c) => c.label)).toEqual(['c0', 'c1', 'c2']);
    expect(Array.from(by('float').timeSeries as Float32Array)).toEqual(Array.from(f32));
    expect(Array.from(by('float').timeStamps)).toEqual(Array.from(t32));
    expect(Array.from(by('double').timeSeries as Float64Array)).toEqual(Array.from(f64));
    expect(Array.from(by('double').timeStamps)).toEqual(Array.from(t64));
    expect(Array.from(by('int8').timeSeries as Int8Array)).toEqual([-128, 127, 0, -1]);
    expect(Array.from(by('int8').timeStamps)).toEqual([1, 1]);
    expect(Array.from(by('int16').timeSeries as Int16Array)).toEqual([-32768, 32767, 5, -5]);
    expect(Array.from(by('int32').timeSeries as Int32Array)).toEqual([-2147483648, 2147483647]);
    expect(Array.from(by('int64').timeSeries as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 12345678901234567n, -1n]);
    expect(by('strings').timeSeries).toEqual(['left', 'ünïcødé ✓', '', long]);
    expect(Array.from(by('strings').timeStamps)).toEqual([8.25, 9.5]);
    expect(Array.from(by('float').clockTimes)).toEqual([1300, 1305]);
    expect(Array.from(by('float').clockValues)).toEqual([-0.25, -0.25]);
    expect(by('float').footer).toMatchObject({ firstTimestamp: 1234.5, lastTimestamp: t32[999], sampleCount: 1000 });
    expect(by('strings').footer?.sampleCount).toBe(2);
    // boundaryIntervalMs 0: a boundary chunk at every flush
    expect(boundaries(readFileSync(file))).toBeGreaterThanOrEqual(2);

    // With pyxdf's defaults the constant clock offset moves every float timestamp by -0.25 s.
    const synced = await readXdf(file, { dejitterTimestamps: false });
    const ts = synced.streams.find((s) => s.name === 'float')!.timeStamps;
    for (const k of [0, 500, 999]) expect(ts[k]).toBeCloseTo(t32[k] - 0.25, 9);
  });

  it('leaves out a timestamp only where a reader deduces the very same double', () => {
    const file = path.join(dir, 'deduced.xdf');
    const w = new XdfWriter(file);
    const id = w.addStream({ name: 's', type: 'EEG', channelFormat: 'float32', channels: [{ label: 'a', unit: 'uV', type: 'EEG' }], nominalSrate: 128 });
    const n = 5000;
    const t = Float64Array.from({ length: n }, (_, s) => 0.1 + s / 128); // not always prev + 1/128 in floating point
    w.push(id, new Float32Array(n), t);
    w.close();
    const bytes = readFileSync(file);
    const doc = parseXdf(bytes, exact);
    expect(Array.from(doc.streams[0].timeStamps)).toEqual(Array.from(t));
    // at least some samples went without a timestamp: smaller than 13 bytes per sample
    expect(bytes.length).toBeLessThan(n * 13);
  });

  it('never overwrites an existing file unless told to', () => {
    const file = path.join(dir, 'exists.xdf');
    new XdfWriter(file).close();
    expect(() => new XdfWriter(file)).toThrow(/EEXIST/);
    expect(() => new XdfWriter(file, { overwrite: true }).close()).not.toThrow();
  });

  it('names the stream and the shortfall when a push has too few values', () => {
    const w = new XdfWriter(path.join(dir, 'short.xdf'));
    const id = w.addStream({
      name: 'eeg',
      type: 'EEG',
      channelFormat: 'float32',
      channels: [
        { label: 'a', unit: 'uV', type: 'EEG' },
        { label: 'b', unit: 'uV', type: 'EEG' },
      ],
      nominalSrate: 100,
    });
    expect(() => w.push(id, new Float32Array(3), [0, 0.01])).toThrow(/stream "eeg": 2 samples of 2 channels .* need 4 values, got 3/);
    expect(() => w.push(9, new Float32Array(3), [0])).toThrow(/no stream with id 9/);
    w.close();
  });
});
