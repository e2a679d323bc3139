import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { n170Files, parseMuseCsv, readMuseCsv, readN170Subject, type MuseRecording } from '../devices/datasets/n170.js';
import { butterworthSos } from '../src/dsp/butterworth.js';
import { SosFilter } from '../src/dsp/sos-filter.js';
import { DATA_DIR, dataFile } from './helpers/data.js';

const RUN = 'muse-visual/N170/subject1/session1/data_2017-09-13-15.30.01.csv';

const tmp = mkdtempSync(path.join(tmpdir(), 'neurorx-n170-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`N170 Muse recordings (data: ${DATA_DIR})`, () => {
  it('reads a run: four EEG channels in uV at 256 Hz, house/face markers on the sample clock', async (ctx) => {
    const file = dataFile(RUN);
    if (!file) return ctx.skip();
    const rec = await readMuseCsv(file);
    expect(rec.info.sampleRate).toBe(256);
    expect(rec.info.channels).toEqual(['TP9', 'AF7', 'AF8', 'TP10'].map((label) => ({ label, type: 'eeg', unit: 'uV' })));
    expect(rec.samples).toBe(30732); // 30733 lines, the header included
    // first data row: 149958.124,34.668,32.715,29.297,14.160,12.695,0 (Right AUX dropped)
    expect(Array.from(rec.data.subarray(0, 4))).toEqual([34.668, 32.715, 29.297, 14.16].map(Math.fround));
    expect(rec.timestamps[0]).toBe(149958.124);
    const counts: Record<string, number> = {};
    for (const m of rec.markers) counts[m.value] = (counts[m.value] ?? 0) + 1;
    expect(counts).toEqual({ house: 108, face: 89 });
    for (const m of rec.markers) expect(Number.isInteger(m.time * 256)).toBe(true);
    expect(rec.markers.every((m, i) => i === 0 || m.time > rec.markers[i - 1].time)).toBe(true);
    // why time comes from the sample index: the stamps run backwards in places...
    let backwards = 0;
    for (let s = 1; s < rec.samples; s++) if (rec.timestamps[s] < rec.timestamps[s - 1]) backwards++;
    expect(backwards).toBeGreaterThan(10);
    // ...while the run spans (samples - 1) / 256 s: no sample was lost
    expect(Math.abs(rec.timestamps[rec.samples - 1] - rec.timestamps[0] - (rec.samples - 1) / 256)).toBeLessThan(0.05);
    expect(rec.startDate?.toISOString()).toBe('2017-09-13T15:30:01.000Z');
    expect(rec.warnings).toEqual([]);
  });

  it("lists and reads a subject's runs by session", async (ctx) => {
    if (!dataFile('muse-visual/N170')) return ctx.skip();
    expect(n170Files(DATA_DIR, 3).map((f) => [f.session, path.basename(f.file)])).toEqual([
      [1, 'data_2018-05-14-19.14.37.csv'],
      [1, 'data_2018-05-14-19.38.10.csv'],
      [2, 'data_2018-05-14-19.35.55.csv'],
      [3, 'recording_2018-05-29-20.14.04.csv.csv'],
      [3, 'recording_2018-05-31-16.03.39.csv.csv'],
    ]);
    // the N170 folder itself works as dataDir too
    expect(n170Files(path.join(DATA_DIR, 'muse-visual', 'N170'), 10)).toHaveLength(4);
    expect(() => n170Files(DATA_DIR, 4)).toThrow(/no subject4 folder .*subjects present: 1, 2, 3, 10/);
    const runs = await readN170Subject(DATA_DIR, 2);
    expect(runs.map((r) => [r.subject, r.session, r.recording.samples])).toEqual([
      [2, 1, 30732],
      [2, 1, 30732],
    ]);
  });

  /**
   * Event-related check. Faces vs houses at 150-200 ms is NOT tested: per run, the face - house
   * difference there has |t| < 2 in 11 of 12 runs of subjects 1-3 (MNE/scipy analysis while writing
   * this test), too weak to assert. What is robust is the visual evoked response itself: pooled
   * over subject 1's six runs, the image-locked average at TP9 and TP10 in 140-200 ms stands far
   * from zero (t = 11.1 at TP9 and 8.3 at TP10 with this processing), and the same average at random onsets does not (|t| < 2).
   * That checks the marker positions against the EEG: a marker misplaced by a few samples or
   * read from the wrong column would wash the response out.
   */
  it('shows a visual evoked response at TP9/TP10 140-200 ms after image onsets (subject 1, all runs)', async (ctx) => {
    if (!dataFile('muse-visual/N170/subject1')) return ctx.skip();
    const runs = await readN170Subject(DATA_DIR, 1);
    expect(runs).toHaveLength(6);
    const pre = 26; // 0.1 s
    const post = 154; // 0.6 s
    const win = [36, 52] as const; // 140-200 ms
    const stim: number[][] = [];
    const control: number[][] = [];
    let seed = 7;
    const rand = (): number => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    for (const { recording } of runs) {
      const x = bandpass(recording);
      const onsets = recording.markers.map((m) => Math.round(m.time * 256));
      stim.push(...windowMeans(x, recording.samples, onsets, pre, post, win));
      const randomOnsets = onsets.map(() => 100 + Math.floor(rand() * (recording.samples - 300)));
      control.push(...windowMeans(x, recording.samples, randomOnsets, pre, post, win));
    }
    expect(stim.length).toBeGreaterThan(1000); // ~190 clean epochs per run
    for (const c of [0, 3]) {
      expect(tStat(stim.map((e) => e[c])), `TP${c === 0 ? 9 : 10} image-locked`).toBeGreaterThan(5);
      expect(Math.abs(tStat(control.map((e) => e[c]))), `TP${c === 0 ? 9 : 10} random onsets`).toBeLessThan(3);
    }
  });
});

describe('Muse CSV parsing', () => {
  const header = 'timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0\n';

  it('names the file and line of a bad row', () => {
    expect(() => parseMuseCsv(`${header}1.0,1,2,3,4,5,0\n1.1,1,2,3,4,5\n`, 'a.csv')).toThrow('a.csv: line 3: 6 fields, the header has 7');
    expect(() => parseMuseCsv(`${header}1.0,1,2,x,4,5,0\n`, 'b.csv')).toThrow('b.csv: line 2: column "AF8": expected a number, found "x"');
    expect(() => parseMuseCsv(`${header}1.0,1,2,3,4,5,\n`, 'c.csv')).toThrow('c.csv: line 2: column "Marker0": expected a number, found ""');
    expect(() => parseMuseCsv('timestamps,TP9,AF7,AF8,Right AUX,Marker0\n', 'd.csv')).toThrow('d.csv: line 1: no "TP10" column in the header');
    expect(() => parseMuseCsv(`${header}1.0,1,2,3,4,5,0\n\n1.2,1,2,3,4,5,0\n`, 'e.csv')).toThrow('e.csv: line 3: empty line between data rows');
    expect(() => parseMuseCsv(header, 'f.csv')).toThrow('f.csv: line 2: no data rows');
  });

  it('reads numbers as pandas writes them (exponents too), not hexadecimal or "Infinity"', () => {
    const rec = parseMuseCsv(`${header}1.5e2,-1.25,+2,.5,3.,1e-05,1.0\n`, 'n.csv');
    expect(Array.from(rec.data)).toEqual([-1.25, 2, 0.5, 3]);
    expect(rec.timestamps[0]).toBe(150);
    expect(rec.markers).toEqual([{ time: 0, value: 'house', duration: 0 }]);
    expect(() => parseMuseCsv(`${header}1.0,0x10,2,3,4,5,0\n`, 'h.csv')).toThrow('h.csv: line 2: column "TP9": expected a number, found "0x10"');
    expect(() => parseMuseCsv(`${header}1.0,1,2,3,4,5,0b1\n`, 'b.csv')).toThrow('b.csv: line 2: column "Marker0": expected a number, found "0b1"');
    expect(() => parseMuseCsv(`${header}Infinity,1,2,3,4,5,0\n`, 'i.csv')).toThrow('i.csv: line 2: column "timestamps": expected a number, found "Infinity"');
  });

  it('reads CRLF files, a "Marker" column, and keeps unknown codes with a warning', async () => {
    const text = 'timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker\r\n5.0,1,2,3,4,9,0\r\n4.9,5,6,7,8,9,2\r\n5.1,9,10,11,12,9,3\r\n5.2,1,1,1,1,1,1\r\n';
    const file = path.join(tmp, 'session1', 'data_2020-01-02-03.04.05.csv');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    const rec = await readMuseCsv(file);
    expect(rec.samples).toBe(4);
    expect(Array.from(rec.data.subarray(4, 8))).toEqual([5, 6, 7, 8]);
    expect(Array.from(rec.timestamps)).toEqual([5.0, 4.9, 5.1, 5.2]);
    expect(rec.markers).toEqual([
      { time: 1 / 256, value: 'face', duration: 0 },
      { time: 2 / 256, value: '3', duration: 0 },
      { time: 3 / 256, value: 'house', duration: 0 },
    ]);
    expect(rec.warnings).toEqual([`${file}: marker code 3 (1x) is neither 1 (house) nor 2 (face); kept as "3"`]);
    expect(rec.startDate?.toISOString()).toBe('2020-01-02T03:04:05.000Z');
  });
});

/** Causal 1-30 Hz Butterworth band-pass (order 4), as scipy's lfilter would run it. */
function bandpass(rec: MuseRecording): Float32Array {
  const f = new SosFilter(butterworthSos(4, [1, 30], 256, 'bandpass'), 4);
  return f.process(rec.data, rec.samples);
}

/** Per epoch (baseline-corrected, rejected beyond 100 uV), the mean of each channel over `win` samples after the onset. */
function windowMeans(x: Float32Array, samples: number, onsets: number[], pre: number, post: number, win: readonly [number, number]): number[][] {
  const out: number[][] = [];
  for (const o of onsets) {
    if (o - pre < 0 || o + post > samples) continue;
    const base = [0, 0, 0, 0];
    for (let s = o - pre; s < o; s++) for (let c = 0; c < 4; c++) base[c] += x[s * 4 + c] / pre;
    let bad = false;
    for (let s = o - pre; s < o + post && !bad; s++) for (let c = 0; c < 4; c++) if (Math.abs(x[s * 4 + c] - base[c]) > 100) bad = true;
    if (bad) continue;
    const mean = [0, 0, 0, 0];
    for (let s = o + win[0]; s < o + win[1]; s++) for (let c = 0; c < 4; c++) mean[c] += (x[s * 4 + c] - base[c]) / (win[1] - win[0]);
    out.push(mean);
  }
  return out;
}

function tStat(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
  return m / (sd / Math.sqrt(v.length));
}
