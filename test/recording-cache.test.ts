import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedRecording } from '../devices/file/recording-cache.js';
import type { Recording } from '../src/stream/recording.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-recording-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recording = (n: number): Recording => ({
  info: { name: `r${n}`, type: 'EEG', sourceId: 'test', channels: [{ label: 'C3', type: 'eeg', unit: 'uV' }], sampleRate: 100 },
  data: new Float32Array([n]),
  samples: 1,
  markers: [],
});

describe('cachedRecording', () => {
  it('reads an unchanged file once, however many sources open it at the same time', async () => {
    const file = path.join(dir, 'a.edf');
    writeFileSync(file, 'x');
    let reads = 0;
    const read = (): Promise<Recording> => Promise.resolve(recording(++reads));
    const all = await Promise.all([cachedRecording(file, '', read), cachedRecording(file, '', read), cachedRecording(file, '', read)]);
    expect(reads).toBe(1);
    expect(all[1]).toBe(all[0]);
    expect(all[2]).toBe(all[0]);
  });

  it('reads again when the file changed, or when another variant (an XDF stream) is asked for', async () => {
    const file = path.join(dir, 'b.edf');
    writeFileSync(file, 'x');
    let reads = 0;
    const read = (): Promise<Recording> => Promise.resolve(recording(++reads));
    const first = await cachedRecording(file, '', read);
    expect(await cachedRecording(file, 'stream=EEG', read)).not.toBe(first);
    writeFileSync(file, 'xy');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const changed = await cachedRecording(file, '', read);
    expect(changed).not.toBe(first);
    expect(reads).toBe(3);
  });

  it('forgets a failed read, and leaves a missing file to the reader', async () => {
    const file = path.join(dir, 'c.edf');
    writeFileSync(file, 'x');
    let fail = true;
    const read = (): Promise<Recording> => (fail ? Promise.reject(new Error('bad file')) : Promise.resolve(recording(1)));
    await expect(cachedRecording(file, '', read)).rejects.toThrow('bad file');
    fail = false;
    expect((await cachedRecording(file, '', read)).info.name).toBe('r1');
    await expect(cachedRecording(path.join(dir, 'missing.edf'), '', () => Promise.reject(new Error('reader: no such file')))).rejects.toThrow('reader: no such file');
  });
});
