import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdfFormatError } from '../devices/file/edf-header.js';
import { parseEdf, readEdf } from '../devices/file/edf-reader.js';
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
