import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdfFormatError } from '../devices/file/edf-header.js';
import { parseEdf, readEdf } from '../devices/file/edf-reader.js';
import { openSource } from '../devices/open-source.js';
import { DATA_DIR, dataFile, FIXTURES } from './helpers/data.js';
import { buildEdf } from './helpers/edf-bytes.js';

interface MneFile {
  file: string;
  sampleRate: number;
  samples: number;
  picks: number[];
  channels: { name: string; type: string; samplesPerRecord: number; values: number[]; sum: number; sumAbs: number }[];
  annotations: { onset: number; duration: number; description: string }[];
  measDate: string | null;
}
const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'mne-edf.json'), 'utf8')) as { mne: string; files: MneFile[] };

describe(`EDF/BDF files read as MNE-Python ${fixture.mne} reads them (data: ${DATA_DIR})`, () => {
  for (const ref of fixture.files) {
    it(ref.file, async (ctx) => {
      const file = dataFile(ref.file);
      if (!file) return ctx.skip();
      const rec = await readEdf(file);
      expect(rec.info.sampleRate).toBe(ref.sampleRate);
      expect(rec.samples).toBe(ref.samples);
      expect(rec.info.channels.map((c) => c.label)).toEqual(ref.channels.map((c) => c.name));
      expect(rec.info.channels.map((c) => c.type === 'stim')).toEqual(ref.channels.map((c) => c.type === 'stim'));

      const nch = rec.info.channels.length;
      const fullRate = Math.max(...ref.channels.map((c) => c.samplesPerRecord));
      let compared = 0;
      ref.channels.forEach((c, ci) => {
        if (c.samplesPerRecord !== fullRate && c.type !== 'stim') return; // MNE resamples these by FFT
        // MNE reports volts for voltage signals; neurorx reports microvolts.
        const scale = rec.info.channels[ci].unit === 'uV' ? 1e6 : 1;
        ref.picks.forEach((s, k) => {
          const want = c.values[k] * scale;
          const got = rec.data[s * nch + ci];
          expect(Math.abs(got - want), `${c.name} sample ${s}`).toBeLessThanOrEqual(1e-7 * Math.abs(want) + 1e-9);
        });
        let sum = 0;
        for (let s = 0; s < rec.samples; s++) sum += rec.data[s * nch + ci];
        expect(Math.abs(sum - c.sum * scale), `${c.name} sum`).toBeLessThanOrEqual(1e-7 * c.sumAbs * scale + 1e-9);
        compared++;
      });
      expect(compared).toBeGreaterThan(0);

      expect(rec.markers.map((m) => m.value)).toEqual(ref.annotations.map((a) => a.description));
      rec.markers.forEach((m, i) => {
        // MNE keeps onsets to the microsecond
        expect(Math.abs(m.time - ref.annotations[i].onset)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(m.duration - ref.annotations[i].duration)).toBeLessThanOrEqual(1e-6);
      });
      if (ref.measDate) expect(Math.floor(rec.startDate!.getTime() / 1000)).toBe(Date.parse(ref.measDate) / 1000);
    });
  }

  it('reads the eegmmidb cue events T0/T1/T2 of an imagery run at their sample positions', async (ctx) => {
    const file = dataFile('eegmmidb/S001/S001R04.edf');
    if (!file) return ctx.skip();
    const rec = await readEdf(file);
    const counts = new Map<string, number>();
    for (const m of rec.markers) counts.set(m.value, (counts.get(m.value) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ T0: 15, T1: 8, T2: 7 });
    // every event onset lands on a sample
    for (const m of rec.markers) expect(Math.abs(m.time * 160 - Math.round(m.time * 160))).toBeLessThan(1e-6);
  });
});

describe('EDF reader edge cases', () => {
  const ramp = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);

  it('scales digital values to microvolts from mV and V headers', () => {
    const buf = buildEdf({
      signals: [
        { label: 'C3', dimension: 'mV', physicalMin: -1, physicalMax: 1, digitalMin: -1000, digitalMax: 1000, records: [[-1000, 0, 500, 1000]] },
        { label: 'C4', dimension: 'V', physicalMin: -0.002, physicalMax: 0.002, digitalMin: -2000, digitalMax: 2000, records: [[1, 2, 3, 4]] },
        { label: 'Temp', dimension: 'degC', physicalMin: 0, physicalMax: 100, digitalMin: 0, digitalMax: 1000, records: [[365, 366, 367, 368]] },
      ],
    });
    const rec = parseEdf(buf, 'units.edf');
    expect(rec.info.channels.map((c) => [c.label, c.unit, c.type])).toEqual([
      ['C3', 'uV', 'eeg'],
      ['C4', 'uV', 'eeg'],
      ['Temp', 'degC', 'misc'],
    ]);
    const c3 = [0, 1, 2, 3].map((s) => rec.data[s * 3]);
    expect(c3).toEqual([-1000, 0, 500, 1000]);
    expect(rec.data[3 * 3 + 1]).toBeCloseTo(4, 5);
    expect(rec.data[0 * 3 + 2]).toBeCloseTo(36.5, 5);
  });

  it('reads BDF 24-bit samples, negative ones included, and masks the Status channel to 17 bits', () => {
    const buf = buildEdf({
      bdf: true,
      signals: [
        { label: 'Fz', physicalMin: -262144, physicalMax: 262143, digitalMin: -8388608, digitalMax: 8388607, records: [[-8388608, -1, 0, 8388607]] },
        { label: 'Status', records: [[0x7f0001, 0x7f0002, 0x7f0000, 0x7f0101]] },
      ],
    });
    const rec = parseEdf(buf, 'x.bdf');
    expect(rec.header.bytesPerSample).toBe(3);
    const fz = [0, 1, 2, 3].map((s) => rec.data[s * 2]);
    expect(fz[0]).toBeCloseTo(-262144, 1);
    expect(fz[3]).toBeCloseTo(262143, 1);
    expect(rec.info.channels[1].type).toBe('stim');
    expect([0, 1, 2, 3].map((s) => rec.data[s * 2 + 1])).toEqual([0x10001, 0x10002, 0x10000, 0x10101]);
  });

  it('turns TALs into markers: durations, several texts per TAL, UTF-8, time-keeping TALs skipped', () => {
    const tal = (s: string): string => s.replace(/\|/g, '\x14').replace(/~/g, '\x15').replace(/#/g, '\x00');
    const buf = buildEdf({
      signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4), ramp(4, 8)] }],
      annotations: [tal('+0||#+0.5~1.5|left|#'), tal('+1||#'), tal('+2||#+2.25|右手|feet|#')],
    });
    const rec = parseEdf(buf, 'tal.edf');
    expect(rec.info.channels).toHaveLength(1);
    expect(rec.markers).toEqual([
      { time: 0.5, duration: 1.5, value: 'left' },
      { time: 2.25, duration: 0, value: '右手' },
      { time: 2.25, duration: 0, value: 'feet' },
    ]);
  });

  it('places markers of a discontinuous EDF+D file on the sample clock', () => {
    const tal = (s: string): string => s.replace(/\|/g, '\x14').replace(/#/g, '\x00');
    const buf = buildEdf({
      reserved: 'EDF+D',
      signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4)] }],
      // second record starts 10 s after the first: a gap of 9 s
      annotations: [tal('+0||#'), tal('+10||#+10.5|cue|#')],
    });
    const rec = parseEdf(buf, 'gap.edf');
    expect(rec.markers).toEqual([{ time: 1.5, duration: 0, value: 'cue' }]);
  });

  it('keeps the complete records of a truncated file and says what was cut', () => {
    const full = buildEdf({ signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4), ramp(4, 8)] }] });
    const rec = parseEdf(full.subarray(0, full.length - 3), 'cut.edf');
    expect(rec.samples).toBe(8);
    expect(rec.data).toEqual(Float32Array.from(ramp(8, 0), (v) => v / 10));
    expect(rec.warnings.join('\n')).toMatch(/declares 3 data records but the file holds 2 complete ones \(truncated at byte 533, record 3 starts at byte 528\)/);
  });

  it('names the field and byte offset of a corrupt header', () => {
    const good = buildEdf({ signals: [{ label: 'Cz', records: [ramp(4, 0)] }] });
    const corrupt = (offset: number, text: string): Uint8Array => {
      const b = good.slice();
      for (let i = 0; i < text.length; i++) b[offset + i] = text.charCodeAt(i);
      return b;
    };
    expect(() => parseEdf(corrupt(252, 'xx  '), 'a.edf')).toThrow('a.edf: number of signals at byte 252: expected a number, found "xx  "');
    expect(() => parseEdf(corrupt(0, 'PK'), 'b.edf')).toThrow(/b\.edf: version at byte 0: expected "0" \(EDF\)/);
    // samples per record of signal 1: after 16+80+8+8+8+8+8+80 bytes of per-signal fields
    expect(() => parseEdf(corrupt(256 + 216, 'abc     '), 'c.edf')).toThrow('c.edf: signal 1 samples per record at byte 472: expected a number, found "abc     "');
    expect(() => parseEdf(good.subarray(0, 100), 'd.edf')).toThrow(EdfFormatError);
  });

  it('names the record and byte of a malformed annotation', () => {
    const buf = buildEdf({
      signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4)] }],
      annotations: ['+0\x14\x14\x00', '+1\x14\x14\x00oops\x00'],
    });
    const rec = parseEdf(buf, 'ann.edf');
    expect(rec.samples).toBe(8);
    expect(rec.warnings.join('\n')).toMatch(/ann\.edf: record 2 annotation signal "EDF Annotations" at byte \d+: annotation without the 0x14 byte/);
  });
});

describe('EDF reader: hostile and damaged headers (issue 15)', () => {
  const ramp = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  const setField = (b: Uint8Array, offset: number, text: string, width = 8): Uint8Array => {
    for (let i = 0; i < width; i++) b[offset + i] = i < text.length ? text.charCodeAt(i) : 0x20;
    return b;
  };

  it('refuses a 2 MB file whose 199 slow signals would be held up to 1,000,000 samples per record, before allocating', () => {
    const bytes = buildEdf({
      signals: [{ label: 'Fast', records: [new Array<number>(1_000_000).fill(1)] }, ...Array.from({ length: 199 }, (_, i) => ({ label: `S${i}`, records: [[i]] }))],
    });
    expect(bytes.length).toBeLessThan(2.1e6);
    const before = process.memoryUsage().arrayBuffers;
    // samples per record of signal 1: after the first 216 bytes of each of the 200 signal headers
    expect(() => parseEdf(bytes, 'bomb.edf')).toThrow(
      /^bomb\.edf: signal 1 samples per record at byte 43456: 200 data signals held up to the 1000000 samples per record of signal 1 \(Fast\) over 1 records: the recording would hold 200000000 values \(763 MB\) for the 1000199 the file stores, 200 times as many/,
    );
    // the 763 MB were never asked for
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('reports a truncated file as a warning naming where it ends and a gap of the missing records', async () => {
    const full = buildEdf({ signals: [{ label: 'Cz', records: Array.from({ length: 125 }, (_, r) => ramp(4, 4 * r)) }] });
    const cut = full.subarray(0, 512 + 62 * 8 + 5); // 62 records and 5 bytes of the 63rd
    const rec = parseEdf(cut, 'cut.edf');
    expect(rec.samples).toBe(62 * 4);
    expect(rec.warnings).toEqual([
      'cut.edf: the header declares 125 data records but the file holds 62 complete ones (truncated at byte 1013, record 63 starts at byte 1008); ' +
        'kept the 62 complete records, 63 records (63 s) are missing',
    ]);
    expect(rec.gaps).toEqual([{ time: 62, samples: 63 * 4, seconds: 63, cause: 'file truncated' }]);
    // and a source opened on the file says so in its loss log
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-edf-'));
    try {
      writeFileSync(path.join(dir, 'cut.edf'), cut);
      const source = await openSource(`file:${path.join(dir, 'cut.edf')}`);
      const losses = source.losses.summary();
      expect(losses.gaps).toEqual([{ time: 62, samples: 252, seconds: 63, cause: 'file truncated' }]);
      expect(losses.warnings[0]).toMatch(/63 records \(63 s\) are missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the pauses of a discontinuous EDF+D file as gaps on the sample clock', () => {
    const tal = (t: string): string => t.replace(/\|/g, '\x14').replace(/#/g, '\x00');
    const buf = buildEdf({
      reserved: 'EDF+D',
      signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4), ramp(4, 8)] }],
      // the second record starts 10 s after the first (a 9 s pause), the third right after it
      annotations: [tal('+0||#'), tal('+10||#+10.5|cue|#'), tal('+11||#')],
    });
    const rec = parseEdf(buf, 'paused.edf');
    expect(rec.markers).toEqual([{ time: 1.5, duration: 0, value: 'cue' }]);
    expect(rec.gaps).toEqual([{ time: 1, samples: 36, seconds: 9, cause: 'recording paused (EDF+D: the next record starts later)' }]);
  });

  it('reads header numbers as ASCII decimals only ("0x10", "1e3", "1e308", "Infinity" refused), naming the field and signal', () => {
    const good = buildEdf({
      signals: [
        { label: 'Cz', records: [ramp(4, 0)] },
        { label: 'Pz', records: [ramp(4, 0)] },
      ],
    });
    // 2 signals: physical maximum of signal 2 at 256 + 2 * (16 + 80 + 8 + 8) + 8, samples per record of signal 1 at 256 + 2 * 216
    expect(() => parseEdf(setField(good.slice(), 688, '0x4'), 'a.edf')).toThrow(
      'a.edf: signal 1 samples per record at byte 688: expected a number, found "0x4     " (EDF numbers are ASCII decimals: an optional sign, digits, an optional point and digits)',
    );
    expect(() => parseEdf(setField(good.slice(), 488, '1e308'), 'b.edf')).toThrow('b.edf: signal 2 physical maximum at byte 488: expected a number, found "1e308   "');
    expect(() => parseEdf(setField(good.slice(), 244, '1e0'), 'c.edf')).toThrow('c.edf: data record duration at byte 244: expected a number, found "1e0     "');
    expect(() => parseEdf(setField(good.slice(), 244, 'Infinity'), 'd.edf')).toThrow('d.edf: data record duration at byte 244: expected a number');
    // what writers do write: a sign, a trailing point, a leading point, a decimal comma
    expect(parseEdf(setField(good.slice(), 244, '+1.'), 'e.edf').info.sampleRate).toBe(4);
    expect(parseEdf(setField(good.slice(), 244, '.5'), 'f.edf').info.sampleRate).toBe(8);
    expect(parseEdf(setField(good.slice(), 244, '0,25'), 'g.edf').info.sampleRate).toBe(16);
  });

  it('skips an annotation whose onset is too large for a number, saying so, instead of a marker at Infinity', () => {
    const huge = `+1${'9'.repeat(320)}`;
    const buf = buildEdf({
      signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4)] }],
      annotations: ['+0\x14\x14\x00+0.5\x14ok\x14\x00', `+1\x14\x14\x00${huge}\x14far\x14\x00`],
      annotationBytes: 400,
    });
    const rec = parseEdf(buf, 'far.edf');
    expect(rec.markers).toEqual([{ time: 0.5, duration: 0, value: 'ok' }]);
    expect(rec.warnings.join('\n')).toMatch(/far\.edf: record 2 annotation signal "EDF Annotations" at byte \d+: annotation onset \+19{22}\.\.\. is too large/);
  });

  it('names labels with control characters, empty and repeated labels in the warnings', () => {
    const buf = buildEdf({
      signals: [
        { label: 'C\x013', records: [ramp(2, 0)] },
        { label: '', records: [ramp(2, 0)] },
        { label: 'C?3', records: [ramp(2, 0)] },
      ],
    });
    const rec = parseEdf(buf, 'labels.edf');
    expect(rec.info.channels.map((c) => c.label)).toEqual(['C?3', 'signal 2', 'C?3']);
    expect(rec.warnings).toEqual([
      'signal 1 label at byte 256: control characters in "C\\u00013" shown as "?"',
      'signal 2 label at byte 272: empty; named "signal 2"',
      'signal 3 label at byte 288: "C?3" is also the label of signal 1',
    ]);
  });
});
