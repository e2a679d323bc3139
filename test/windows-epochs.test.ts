import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commonAverageReference } from '../src/dsp/common-average-reference.js';
import { markerEpochs } from '../src/dsp/epochs.js';
import { pickChannels } from '../src/dsp/pick-channels.js';
import { slidingWindows } from '../src/dsp/windows.js';
import type { Chunk } from '../src/stream/types.js';
import { ramp, streamInfo, toChunks } from './helpers/chunks.js';

const info = streamInfo(3, 100, ['C3..', 'Cz..', 'C4..']);
const data = ramp(3, 1000);

async function collect<T>(chunks: Chunk[], op: (s: ReturnType<typeof from<Chunk[]>>) => import('rxjs').Observable<T>): Promise<T[]> {
  return lastValueFrom(op(from(chunks)).pipe(toArray()));
}

describe('sliding windows', () => {
  it('emits windows of the right samples every hop, whatever the chunking', async () => {
    const results = [];
    for (const size of [1, 7, 100, 1000]) {
      const ws = await collect(toChunks(info, data, size), (s) => s.pipe(slidingWindows({ length: 0.5, hop: 0.25 })));
      results.push(ws);
    }
    const ref = results[0];
    // 1000 samples, length 50, hop 25: windows end at 49, 74, ..., 999 -> 39 windows.
    expect(ref).toHaveLength(39);
    expect(ref[0].firstSample).toBe(0);
    expect(ref[1].firstSample).toBe(25);
    expect(ref[38].firstSample).toBe(950);
    expect(ref[38].endTime).toBeCloseTo(9.99, 10);
    // content: channel 2 of the first sample of window k is (25k)*10 + 2
    expect(ref[3].data[2]).toBe(75 * 10 + 2);
    expect(ref[3].data[49 * 3]).toBe(124 * 10);
    for (const other of results.slice(1)) {
      expect(other.map((w) => w.firstSample)).toEqual(ref.map((w) => w.firstSample));
      other.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(ref[i].data.buffer))).toBe(true));
    }
  });

  it('in view mode hands out the same samples without copying, valid while handled', async () => {
    const copies = await collect(toChunks(info, data, 7), (s) => s.pipe(slidingWindows({ length: 0.5, hop: 0.25 })));
    const seen: Float32Array[] = [];
    let buffer: ArrayBufferLike | undefined;
    from(toChunks(info, data, 7))
      .pipe(slidingWindows({ length: 0.5, hop: 0.25, view: true }))
      .subscribe((w) => {
        seen.push(w.data.slice());
        buffer ??= w.data.buffer;
        expect(w.data.buffer).toBe(buffer); // one ring, no allocation per window
      });
    expect(seen).toEqual(copies.map((w) => w.data));
  });

  it('rejects a stream whose channel count changes', async () => {
    const a = toChunks(info, data, 100)[0];
    const b = toChunks(streamInfo(2, 100), ramp(2, 100), 100)[0];
    await expect(collect([a, b], (s) => s.pipe(slidingWindows({ length: 0.5, hop: 0.25 })))).rejects.toThrow(/stream changed from 3 channels at 100 Hz to 2 channels/);
  });
});

describe('marker-locked epochs', () => {
  const markers = [
    { time: 1.0, value: 'T1', duration: 4 },
    { time: 2.505, value: 'T0', duration: 4 },
    { time: 3.0, value: 'T2', duration: 4 },
    { time: 9.5, value: 'T1', duration: 4 }, // runs past the end: never complete
  ];

  it('cuts [tmin, tmax] inclusive around each wanted marker, for any chunking', async () => {
    for (const size of [1, 13, 1000]) {
      const epochs = await collect(toChunks(info, data, size, markers), (s) => s.pipe(markerEpochs({ events: { T1: 'left', T2: 'right' }, tmin: -0.2, tmax: 1.0 })));
      expect(epochs.map((e) => e.label)).toEqual(['left', 'right']);
      const e = epochs[1];
      expect(e.samples).toBe(121); // -20..+100 samples around sample 300
      expect(e.firstSample).toBe(280);
      expect(e.data[0]).toBe(2800);
      expect(e.data[120 * 3 + 1]).toBe(4001);
    }
  });
});

describe('channel picking and common average reference', () => {
  it('picks channels by plain label whatever the file decoration, in the asked order', async () => {
    const [c] = await collect(toChunks(info, data, 1000), (s) => s.pipe(pickChannels({ labels: ['c4', 'C3'] })));
    expect(c.info.channels.map((ch) => ch.label)).toEqual(['C4..', 'C3..']);
    expect(Array.from(c.data.subarray(0, 4))).toEqual([2, 0, 12, 10]);
  });

  it('names missing channels', async () => {
    await expect(collect(toChunks(info, data, 1000), (s) => s.pipe(pickChannels({ labels: ['C3', 'Pz'] })))).rejects.toThrow(/not in stream: Pz/);
  });

  it('removes the mean over channels at every sample', async () => {
    const [c] = await collect(toChunks(info, data, 1000), (s) => s.pipe(commonAverageReference()));
    expect(Array.from(c.data.subarray(30, 33))).toEqual([-1, 0, 1]);
  });
});
