import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { museVisualFiles, readMuseVisualSubject } from '../devices/datasets/muse-visual.js';
import { parseMuseCsv, readMuseCsv } from '../devices/file/muse-csv.js';
import { loadRecording, openSource } from '../devices/open-source.js';
import { DATA_DIR, dataFile } from './helpers/data.js';
import { lastValueFrom, toArray } from 'rxjs';

const P300_RUN = 'muse-visual/P300/subject1/session1/data_2017-02-04-15_45_13.csv';
const SSVEP_RUN = 'muse-visual/SSVEP/subject1/session1/data_2017-09-14-21.20.04.csv';

function counts(markers: readonly { value: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of markers) out[m.value] = (out[m.value] ?? 0) + 1;
  return out;
}

describe(`Muse CSV source on the real P300 and SSVEP runs (data: ${DATA_DIR})`, () => {
  it('reads a P300 run through a file: URI: 4 EEG channels at 256 Hz, codes "1"/"2" as markers on the sample clock', async (ctx) => {
    const file = dataFile(P300_RUN);
    if (!file) return ctx.skip();
    const rec = await loadRecording(`file:${file}`);
    expect(rec.info.sampleRate).toBe(256);
    expect(rec.info.channels.map((c) => c.label)).toEqual(['TP9', 'AF7', 'AF8', 'TP10']);
    expect(rec.samples).toBe(30732);
    // first data row: 1486223115.483,-44.922,27.832,32.715,58.105,82.031,0 (header "Marker", Right AUX dropped)
    expect(Array.from(rec.data.subarray(0, 4))).toEqual([-44.922, 27.832, 32.715, 58.105].map(Math.fround));
    expect(counts(rec.markers)).toEqual({ '1': 165, '2': 32 });
    for (const m of rec.markers) expect(Number.isInteger(m.time * 256)).toBe(true);
    // the file name's underscored time is the start date
    expect(rec.startDate?.toISOString()).toBe('2017-02-04T15:45:13.000Z');
    expect(rec.warnings).toEqual([]);
  });

  it('reads an SSVEP run ("Marker0" column) whose timestamps step backwards; time comes from the row index', async (ctx) => {
    const file = dataFile(SSVEP_RUN);
    if (!file) return ctx.skip();
    const rec = await readMuseCsv(file);
    expect(rec.samples).toBe(30732);
    expect(counts(rec.markers)).toEqual({ '1': 14, '2': 18 });
    let backwards = 0;
    for (let s = 1; s < rec.samples; s++) if (rec.timestamps[s] < rec.timestamps[s - 1]) backwards++;
    expect(backwards).toBe(32);
    expect(Math.abs(rec.timestamps[rec.samples - 1] - rec.timestamps[0] - (rec.samples - 1) / 256)).toBeLessThan(0.05);
    expect(rec.markers.every((m, i) => i === 0 || m.time > rec.markers[i - 1].time)).toBe(true);
  });

  it("lists a P300 subject's runs by session and replays one as a source", async (ctx) => {
    if (!dataFile('muse-visual/P300')) return ctx.skip();
    const files = museVisualFiles(DATA_DIR, 'P300', 1);
    expect(files.map((f) => f.session)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]);
    expect(path.basename(files[0].file)).toBe('data_2017-02-04-15_45_13.csv');
    expect(() => museVisualFiles(DATA_DIR, 'P300', 5)).toThrow(/P300: no subject5 folder .*subjects present: 1, 2, 3, 4/);
    const runs = await readMuseVisualSubject(DATA_DIR, 'P300', 4);
    expect(runs.map((r) => [r.session, r.recording.samples, counts(r.recording.markers)])).toEqual([[1, 15360, { '1': 83, '2': 12 }]]);
    const source = await openSource(`file:${files[0].file}?speed=max&chunk=64`);
    expect(source.finite).toBe(true);
    const chunks = await lastValueFrom(source.chunks$.pipe(toArray()));
    expect(chunks.reduce((a, c) => a + c.samples, 0)).toBe(30732);
    expect(counts(chunks.flatMap((c) => c.markers ?? []))).toEqual({ '1': 165, '2': 32 });
  });
});

describe('Muse CSV parser errors name the line and column at fault', () => {
  const header = 'timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker\n';
  const good = (s: number, marker = 0): string => `${(100 + s / 256).toFixed(3)},${s},${-s},${s * 2},${s / 2},0,${marker}`;

  it('reads a small generated run with raw codes as marker values', () => {
    const rows = Array.from({ length: 10 }, (_, s) => good(s, s === 3 ? 2 : s === 7 ? 1 : 0));
    const rec = parseMuseCsv(header + rows.join('\n') + '\n', 'gen.csv');
    expect(rec.samples).toBe(10);
    expect(Array.from(rec.data.subarray(4, 8))).toEqual([1, -1, 2, 0.5]);
    expect(rec.markers).toEqual([
      { time: 3 / 256, value: '2', duration: 0 },
      { time: 7 / 256, value: '1', duration: 0 },
    ]);
    expect(rec.warnings).toEqual([]);
  });

  it('names line and column', () => {
    const rows = [good(0), good(1), good(2)];
    const at = (line: number, row: string): string => [header.trimEnd(), ...rows.slice(0, line - 2), row, ...rows.slice(line - 1)].join('\n');
    expect(() => parseMuseCsv(at(3, '100.1,1,2,3,4,5'), 'g.csv')).toThrow('g.csv: line 3: 6 fields, the header has 7');
    expect(() => parseMuseCsv(at(4, '100.1,1,2,3,nan,5,0'), 'g.csv')).toThrow('g.csv: line 4: column "TP10": expected a number, found "nan"');
    expect(() => parseMuseCsv(at(2, '100.1,1,2,3,4,5,x'), 'g.csv')).toThrow('g.csv: line 2: column "Marker": expected a number, found "x"');
    expect(() => parseMuseCsv(at(3, ',1,2,3,4,5,0'), 'g.csv')).toThrow('g.csv: line 3: column "timestamps": expected a number, found ""');
    expect(() => parseMuseCsv('timestamps,TP9,AF7,AF8,TP10,Right AUX\n1,1,2,3,4,5\n', 'g.csv')).toThrow('g.csv: line 1: no marker column ("Marker0" or "Marker")');
    expect(() => parseMuseCsv('timestamps,TP9,AF8,TP10,Marker\n', 'g.csv')).toThrow('g.csv: line 1: no "AF7" column in the header');
  });

  it('a .csv source is the Muse reader; other extensions still fail naming the accepted ones', async () => {
    await expect(loadRecording('file:/nonexistent/x.txt')).rejects.toThrow(/expected .edf, .bdf, .fif, .xdf or .csv \(muse-lsl\)/);
  });
});
