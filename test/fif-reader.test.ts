import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FifFormatError, findEvents, layoutPositions, parseFif, readFif, type FifRecording } from '../devices/file/fif-reader.js';
import { loadRecording } from '../devices/open-source.js';
import { DATA_DIR, dataFile, FIXTURES } from './helpers/data.js';
import { FifBytes, smallFif } from './helpers/fif-bytes.js';

interface MneFifFile {
  file: string;
  sfreq: number;
  firstSamp: number;
  nTimes: number;
  chNames: string[];
  chTypes: string[];
  unitsPerType: Record<string, string[]>;
  picks: { index: number; name: string; type: string; loc3: number[]; first: number[]; last: number }[];
  sums: number[];
  rms: number[];
  bads: string[];
  measDate: string | null;
  maxshield: boolean;
  stimChannel: string | null;
  events: [number, number, number][];
}
interface MneSynthetic {
  format: 'short' | 'int' | 'single' | 'double';
  bytes: string;
  sfreq: number;
  firstSamp: number;
  nTimes: number;
  chNames: string[];
  chTypes: string[];
  loc3: number[][];
  data: number[][];
  measDate: string;
  stimChannel: string;
  events: [number, number, number][];
  skips: [number, number][];
}
const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'mne-fif.json'), 'utf8')) as { mne: string; files: MneFifFile[]; synthetic: MneSynthetic[] };

/** neurorx's stream type for an MNE channel type. */
const STREAM_TYPE: Record<string, string> = { mag: 'mag', grad: 'grad', eeg: 'eeg', stim: 'stim', eog: 'eog', ecg: 'ecg', emg: 'emg', misc: 'misc', resp: 'resp' };

const channel = (rec: FifRecording, c: number): Float64Array => {
  const nch = rec.info.channels.length;
  return Float64Array.from({ length: rec.samples }, (_, s) => rec.data[s * nch + c]);
};

/** float32 storage: ~6e-8 relative; we allow 1e-6 relative (and a floor far below any real value). */
const closeRel = (got: number, want: number, rel: number): boolean => Math.abs(got - want) <= rel * Math.abs(want) + 1e-30;

const tmp = mkdtempSync(path.join(tmpdir(), 'neurorx-fif-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`FIF raw files read as MNE-Python ${fixture.mne} reads them (data: ${DATA_DIR})`, () => {
  for (const ref of fixture.files) {
    it(ref.file, async (ctx) => {
      const file = dataFile(ref.file);
      if (!file) return ctx.skip();
      const rec = await readFif(file);
      expect(rec.info.sampleRate).toBe(ref.sfreq);
      expect(rec.firstSample).toBe(ref.firstSamp);
      expect(rec.samples).toBe(ref.nTimes);
      expect(rec.info.channels.map((c) => c.label)).toEqual(ref.chNames);
      expect(rec.channelRecords.map((c) => c.mneType)).toEqual(ref.chTypes);
      expect(rec.info.channels.map((c) => c.type)).toEqual(ref.chTypes.map((t) => STREAM_TYPE[t] ?? 'misc'));
      expect(rec.info.type).toBe('MEG');
      // units: SI as MNE keeps them; stim channels hold trigger codes, unit ""
      ref.chTypes.forEach((t, i) => {
        if (t === 'stim') expect(rec.info.channels[i].unit).toBe('');
        else expect([rec.info.channels[i].unit]).toEqual(ref.unitsPerType[t]);
      });
      expect(rec.info.channels.find((c) => c.type === 'mag')!.unit).toBe('T');
      expect(rec.info.channels.find((c) => c.type === 'grad')!.unit).toBe('T/m');
      expect(rec.info.channels.find((c) => c.type === 'eeg')!.unit).toBe('V');

      const nch = rec.info.channels.length;
      for (const p of ref.picks) {
        expect(rec.info.channels[p.index].label).toBe(p.name);
        expect(rec.positions3d[p.index]).toEqual(p.loc3);
        p.first.forEach((want, s) => expect(closeRel(rec.data[s * nch + p.index], want, 1e-6), `${p.name} sample ${s}: ${rec.data[s * nch + p.index]} vs ${want}`).toBe(true));
        expect(closeRel(rec.data[(rec.samples - 1) * nch + p.index], p.last, 1e-6), `${p.name} last sample`).toBe(true);
      }
      expect(new Set(ref.picks.map((p) => p.type)).size).toBeGreaterThanOrEqual(5);

      // every channel: RMS within 1e-5 relative; the sum within 1e-6 of n * RMS (sums cancel)
      for (let c = 0; c < nch; c++) {
        const x = channel(rec, c);
        let sum = 0;
        let sq = 0;
        for (const v of x) {
          sum += v;
          sq += v * v;
        }
        const rms = Math.sqrt(sq / x.length);
        expect(closeRel(rms, ref.rms[c], 1e-5), `${ref.chNames[c]} RMS ${rms} vs ${ref.rms[c]}`).toBe(true);
        expect(Math.abs(sum - ref.sums[c]), `${ref.chNames[c]} sum`).toBeLessThanOrEqual(1e-6 * x.length * ref.rms[c] + 1e-30);
      }

      expect(rec.stimChannel).toBe(ref.stimChannel ?? undefined);
      expect(rec.events.map((e) => [e.sample, e.previous, e.value])).toEqual(ref.events);
      expect(rec.markers).toHaveLength(ref.events.length);
      expect(rec.bads).toEqual(ref.bads);
      expect(Math.abs(rec.measDate!.getTime() - Date.parse(ref.measDate!))).toBeLessThan(1);
      expect(Math.abs(rec.startDate!.getTime() - (rec.measDate!.getTime() + (1000 * ref.firstSamp) / ref.sfreq))).toBeLessThan(1);
      expect(rec.maxshield).toBe(ref.maxshield);
      expect(rec.dataFormat).toBe('single');
      expect(rec.skips).toEqual([]);
      if (ref.maxshield) expect(rec.warnings).toEqual([expect.stringMatching(/raw internal active shielding \(MaxShield\) data not processed by MaxFilter/)]);
      else expect(rec.warnings).toEqual([]);
    });
  }

  it('loadRecording dispatches .fif files to the FIF reader', async (ctx) => {
    const file = dataFile(fixture.files[0].file);
    if (!file) return ctx.skip();
    const rec = await loadRecording(`file:${file}`);
    expect(rec.info.channels).toHaveLength(fixture.files[0].chNames.length);
    expect(rec.samples).toBe(fixture.files[0].nTimes);
  });

  it('projects the magnetometer positions of a real file to a 2-D layout that keeps left/right and front/back', async (ctx) => {
    const file = dataFile(fixture.files[0].file);
    if (!file) return ctx.skip();
    const rec = await readFif(file);
    const mags = rec.positions3d.filter((_, i) => rec.info.channels[i].type === 'mag');
    expect(mags).toHaveLength(102);
    const lay = layoutPositions(mags);
    for (const p of lay) {
      expect(Math.abs(p.x)).toBeLessThanOrEqual(1 + 1e-12);
      expect(Math.abs(p.y)).toBeLessThanOrEqual(1 + 1e-12);
    }
    expect(Math.max(...lay.map((p) => Math.hypot(p.x, p.y)))).toBeCloseTo(1, 12);
    const corr = (a: number[], b: number[]): number => {
      const ma = a.reduce((s, v) => s + v, 0) / a.length;
      const mb = b.reduce((s, v) => s + v, 0) / b.length;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      a.forEach((v, i) => {
        sab += (v - ma) * (b[i] - mb);
        saa += (v - ma) ** 2;
        sbb += (b[i] - mb) ** 2;
      });
      return sab / Math.sqrt(saa * sbb);
    };
    expect(
      corr(
        lay.map((p) => p.x),
        mags.map((p) => p[0]),
      ),
    ).toBeGreaterThan(0.95);
    expect(
      corr(
        lay.map((p) => p.y),
        mags.map((p) => p[1]),
      ),
    ).toBeGreaterThan(0.95);
  });
});

describe(`FIF files written by MNE-Python ${fixture.mne} (made-up signals, every storage format)`, () => {
  for (const ref of fixture.synthetic) {
    it(`${ref.format}: values, long channel name, first sample, events${ref.skips.length ? ', acquisition skip' : ''}`, () => {
      const bytes = Uint8Array.from(Buffer.from(ref.bytes, 'base64'));
      const rec = parseFif(bytes, { source: `synthetic_${ref.format}_raw.fif` });
      expect(rec.dataFormat).toBe(ref.format);
      expect(rec.info.sampleRate).toBe(ref.sfreq);
      expect(rec.firstSample).toBe(ref.firstSamp);
      expect(rec.samples).toBe(ref.nTimes);
      expect(rec.info.channels.map((c) => c.label)).toEqual(ref.chNames);
      expect(rec.info.channels.map((c) => c.label)).toContain('EEG long name 0001'); // from the extended channel info
      expect(rec.channelRecords.map((c) => c.mneType)).toEqual(ref.chTypes);
      rec.positions3d.forEach((p, i) => p.forEach((v, k) => expect(closeRel(v, ref.loc3[i][k], 1e-7)).toBe(true)));
      const nch = ref.chNames.length;
      ref.data.forEach((row, c) => row.forEach((want, s) => expect(closeRel(rec.data[s * nch + c], want, 1e-6), `${ref.chNames[c]} sample ${s}: ${rec.data[s * nch + c]} vs ${want}`).toBe(true)));
      expect(rec.stimChannel).toBe(ref.stimChannel);
      expect(rec.events.map((e) => [e.sample, e.previous, e.value])).toEqual(ref.events);
      expect(rec.markers).toEqual(ref.events.map(([s, , v]) => ({ time: (s - ref.firstSamp) / ref.sfreq, value: String(v), duration: 0 })));
      expect(rec.skips.map((k) => [k.start, k.samples])).toEqual(ref.skips);
      expect(rec.measDate!.getTime()).toBe(Date.parse(ref.measDate));
      expect(rec.startDate!.getTime()).toBeCloseTo(Date.parse(ref.measDate) + (1000 * ref.firstSamp) / ref.sfreq, 6);
    });
  }
});

describe('damaged FIF files', () => {
  const realFile = (i: number): string | undefined => dataFile(fixture.files[i].file);
  const writeTmp = (name: string, bytes: Uint8Array): string => {
    const p = path.join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('keeps the complete data buffers of a file cut inside its last buffer, and says so', async (ctx) => {
    const file = realFile(1);
    if (!file) return ctx.skip();
    const full = await readFif(file);
    const bytes = readFileSync(file);
    // test_move_anon_erm_raw.fif: buffers of 1200 samples (tag at byte 123555) and 1 sample (tag at byte 2005171)
    const cut = await readFif(writeTmp('cut_last_raw.fif', bytes.subarray(0, 2005171 + 16 + 100)));
    expect(cut.samples).toBe(1200);
    const kept = full.data.subarray(0, 1200 * full.info.channels.length);
    expect(Buffer.from(cut.data.buffer, cut.data.byteOffset, cut.data.byteLength).equals(Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength))).toBe(true);
    expect(cut.warnings.join('\n')).toMatch(
      /truncated at byte 2005171 \(tag 300 \(FIFF_DATA_BUFFER\): needs 1568 data bytes but the file ends at byte 2005287 \(100 present\)\); kept the 1 complete data buffer\(s\), 1200 samples/,
    );
    // cut exactly between two tags: nothing is partial, but the blocks are never closed
    const between = await readFif(writeTmp('cut_between_raw.fif', bytes.subarray(0, 2005171)));
    expect(between.samples).toBe(1200);
    expect(between.warnings.join('\n')).toMatch(/ends inside 2 unclosed block\(s\) \(innermost: block 119 started at byte \d+\); truncated between two tags\?/);
  });

  it('names the offset and tag of a data buffer cut before any buffer is complete', async (ctx) => {
    const file = realFile(1);
    if (!file) return ctx.skip();
    const bytes = readFileSync(file);
    await expect(readFif(writeTmp('cut_first_raw.fif', bytes.subarray(0, 1_000_000)))).rejects.toThrow(
      /cut_first_raw\.fif: tag 300 \(FIFF_DATA_BUFFER\) at byte 123555: needs 1881600 data bytes but the file ends at byte 1000000 .*no complete data buffer/,
    );
  });

  it('names the offset and tag kind of a file cut inside the measurement info', async (ctx) => {
    const file = realFile(0);
    if (!file) return ctx.skip();
    const bytes = readFileSync(file);
    // sample_audvis_trunc_raw_sss.fif: channel records (112 bytes with their headers) from byte 2955203 on
    const err = await readFif(writeTmp('cut_info_raw.fif', bytes.subarray(0, 2955203 + 10 * 112 + 50))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FifFormatError);
    expect((err as Error).message).toMatch(
      /cut_info_raw\.fif: tag 203 \(FIFF_CH_INFO\) at byte 2956323: needs 96 data bytes but the file ends at byte 2956373 \(34 present\); the file is truncated inside the measurement info$/,
    );
    expect((err as FifFormatError).offset).toBe(2956323);
    expect((err as FifFormatError).kind).toBe(203);
    // earlier, inside the HPI measurement of the measurement info
    await expect(readFif(writeTmp('cut_hpi_raw.fif', bytes.subarray(0, 5000)))).rejects.toThrow(
      /tag 302 \(FIFF_EPOCH\) at byte 851: needs 734412 data bytes but the file ends at byte 5000 \(4133 present\); the file is truncated inside the measurement info/,
    );
  });

  it('rejects garbage with the offset where it stops being FIF', async (ctx) => {
    let seed = 12345;
    const garbage = Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
    await expect(readFif(writeTmp('garbage.fif', garbage))).rejects.toThrow(/garbage\.fif: at byte 0: not a FIF file: the first tag must be the file id/);
    expect(() => parseFif(new Uint8Array(10), { source: 'tiny.fif' })).toThrow('tiny.fif: at byte 0: not a FIF file: 10 bytes, shorter than one 16-byte tag header');

    const file = realFile(1);
    if (!file) return ctx.skip();
    const bytes = Uint8Array.from(readFileSync(file));
    // overwrite the data buffer's tag header (kind 300 at byte 123555) with garbage: a negative size
    bytes.set([0, 0, 1, 44, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xf0], 123555);
    expect(() => parseFif(bytes, { source: 'bad.fif' })).toThrow('bad.fif: tag 300 (FIFF_DATA_BUFFER) at byte 123555: negative data size -16 (corrupt tag header)');
    // a next-tag pointer past the end of the file
    const bytes2 = Uint8Array.from(readFileSync(file));
    new DataView(bytes2.buffer).setInt32(123555 + 12, 99_999_999, false);
    expect(() => parseFif(bytes2, { source: 'bad2.fif' })).toThrow('bad2.fif: tag 300 (FIFF_DATA_BUFFER) at byte 123555: next-tag pointer 99999999 lies past the end of the file');
  });
});

describe('FIF reader details', () => {
  it('reads a file through its tag directory exactly as by walking its tags', () => {
    const walked = parseFif(smallFif({}), { source: 'walk.fif' });
    const viaDir = parseFif(smallFif({ directory: true }), { source: 'dir.fif' });
    expect(viaDir.warnings).toEqual([]);
    expect(viaDir.data).toEqual(walked.data);
    expect(Array.from(walked.data)).toEqual([1, 0, 2, 3, 3, 3, -4, 0, 5, 0, 6, 1]); // range 2 * cal 0.5 = 1
    expect(walked.dataFormat).toBe('short');
    // a MEG channel with another unit than T or T/m: typed by its coil (3012: planar gradiometer)
    expect(walked.channelRecords[0].mneType).toBe('grad');
    expect(walked.events).toEqual([
      { sample: 11, previous: 0, value: 3 },
      { sample: 15, previous: 0, value: 1 },
    ]);
    expect(walked.markers.map((m) => [m.time, m.value])).toEqual([
      [0.01, '3'],
      [0.05, '1'],
    ]);
  });

  it('falls back to walking the tags when the directory pointer is past the end of the file', () => {
    const rec = parseFif(smallFif({ dirPointer: 1_000_000 }), { source: 'd.fif' });
    expect(rec.samples).toBe(6);
    expect(rec.warnings.join('\n')).toMatch(/d\.fif: the tag directory \(pointer: byte 1000000\) lies past the end of the file .*walked the tags one by one instead/);
  });

  it('applies data skips as MNE does: a leading skip moves the first sample, a later one inserts zeros', () => {
    const lead = parseFif(smallFif({ leadingSkip: 2 }), { source: 'lead.fif' });
    expect(lead.firstSample).toBe(10 + 2 * 3);
    expect(lead.samples).toBe(6);
    expect(lead.skips).toEqual([]);
    const mid = parseFif(smallFif({ middleSkip: 2 }), { source: 'mid.fif' });
    expect(mid.firstSample).toBe(10);
    expect(mid.samples).toBe(12);
    expect(mid.skips).toEqual([{ start: 3, samples: 6 }]);
    expect(Array.from(mid.data.subarray(6, 18))).toEqual(new Array(12).fill(0));
    expect(Array.from(mid.data.subarray(18))).toEqual([-4, 0, 5, 0, 6, 1]);
    expect(mid.warnings.join('\n')).toMatch(/1 acquisition skip\(s\) \(FIFF_DATA_SKIP\), 6 samples filled with zeros/);
  });

  it('finds events with MNE find_events rules (consecutive="increasing")', () => {
    const ev = (v: number[]): number[][] => findEvents(Float64Array.from(v), 0).map((e) => [e.sample, e.previous, e.value]);
    expect(ev([0, 0, 0])).toEqual([]);
    expect(ev([3, 3, 3])).toEqual([]); // constant, even non-zero: no step
    expect(ev([3, 0, 1, 1, 0])).toEqual([[2, 0, 1]]); // initial non-zero value is not an event
    expect(ev([0, 1, 2, 1, 0])).toEqual([
      [1, 0, 1],
      [2, 1, 2],
    ]); // up without returning to 0: new event; down: not
    expect(ev([0, 2.7, 2.2, 0])).toEqual([[1, 0, 2]]); // truncated to integers first
    expect(ev([0, -5, 0, 5])).toEqual([
      [1, 0, 5],
      [3, 0, 5],
    ]); // negative values: absolute values
    expect(findEvents(Float64Array.from([0, 4]), 100)).toEqual([{ sample: 101, previous: 0, value: 4 }]);
  });

  it('projects 3-D points with an azimuthal equidistant projection around the top', () => {
    const r = 0.1;
    const c = [0.01, -0.02, 0.04];
    const at = (polar: number, azimuth: number): number[] => [c[0] + r * Math.sin(polar) * Math.cos(azimuth), c[1] + r * Math.sin(polar) * Math.sin(azimuth), c[2] + r * Math.cos(polar)];
    const pts = [at(0, 0), at(Math.PI / 2, 0), at(Math.PI / 4, Math.PI / 2), at(Math.PI / 2, Math.PI), at(Math.PI / 3, -Math.PI / 2), [0, 0, 0], [NaN, 1, 2]];
    const lay = layoutPositions(pts);
    const want = [
      [0, 0],
      [1, 0],
      [0, 0.5],
      [-1, 0],
      [0, -2 / 3],
    ];
    want.forEach(([x, y], i) => {
      expect(lay[i].x).toBeCloseTo(x, 9);
      expect(lay[i].y).toBeCloseTo(y, 9);
    });
    expect(lay[5]).toEqual({ x: NaN, y: NaN });
    expect(lay[6]).toEqual({ x: NaN, y: NaN });
    expect(layoutPositions([])).toEqual([]);
  });
});

describe('FIF damage and hostile tags (issue 15)', () => {
  it('reports acquisition skips as gaps on the recording clock', () => {
    const rec = parseFif(smallFif({ middleSkip: 2 }), { source: 'mid.fif' });
    expect(rec.gaps).toEqual([{ time: 0.03, samples: 6, seconds: 0.06, cause: 'acquisition skip (FIFF_DATA_SKIP), filled with zeros' }]);
    expect(parseFif(smallFif({}), { source: 'whole.fif' }).gaps).toEqual([]);
  });

  it('refuses a skip count asking for billions of zeros, before allocating', () => {
    const bytes = smallFif({ middleSkip: 2 ** 31 - 1 });
    const before = process.memoryUsage().arrayBuffers;
    expect(() => parseFif(bytes, { source: 'skip.fif' })).toThrow(
      /^skip\.fif: tag 301 \(FIFF_DATA_SKIP\) at byte \d+: 1 FIFF_DATA_SKIP tag\(s\) and the data buffers ask for 6442450947 samples of 2 channels: the recording would hold 12884901894 values/,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('refuses a negative skip count naming the tag', () => {
    expect(() => parseFif(smallFif({ middleSkip: -3 }), { source: 'neg.fif' })).toThrow(/^neg\.fif: tag 301 \(FIFF_DATA_SKIP\) at byte \d+: negative skip count -3$/);
  });

  it('refuses a calibration that is not a finite number, naming the channel', () => {
    const f = new FifBytes().start(100).start(101).ints(200, 1).float(201, 100);
    f.channel({ name: 'EEG 001', kind: 2, unit: 107, coil: 1, range: 1, cal: Infinity });
    const bytes = f.end(101).start(102).shorts(300, 2, [1, 2, 3]).end(102).end(100).bytes();
    expect(() => parseFif(bytes, { source: 'cal.fif' })).toThrow('cal.fif: tag 104 (FIFF_BLOCK_START) at byte 76: channel 1 (EEG 001): range 1 * cal Infinity is not a finite number');
  });

  it('refuses blocks nested absurdly deep with an error naming the tag, not a stack overflow', () => {
    const f = new FifBytes();
    for (let k = 0; k < 50_000; k++) f.start(999);
    expect(() => parseFif(f.bytes(), { source: 'deep.fif' })).toThrow(/^deep\.fif: tag 104 \(FIFF_BLOCK_START\) at byte \d+: blocks nested more than 64 deep \(corrupt file\)$/);
  });
});
