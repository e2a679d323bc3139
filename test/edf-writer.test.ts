import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdf, readEdf, type EdfRecording } from '../devices/file/edf-reader.js';
import { edfLayout, encodeEdf, EdfWriteError, writeEdf, type EdfWriteOptions } from '../devices/file/edf-writer.js';
import type { Recording } from '../src/stream/recording.js';
import type { ChannelType, Marker } from '../src/stream/types.js';

interface ChannelSpec {
  label: string;
  type?: ChannelType;
  unit?: string;
  /** Value of sample s. */
  value: (s: number) => number;
}

function recording(spec: { rate: number; samples: number; channels: ChannelSpec[]; markers?: Marker[]; startDate?: Date }): Recording {
  const nch = spec.channels.length;
  const data = new Float32Array(spec.samples * nch);
  for (let s = 0; s < spec.samples; s++) spec.channels.forEach((c, ci) => (data[s * nch + ci] = c.value(s)));
  return {
    info: {
      name: 'test',
      type: 'EEG',
      sourceId: 'test',
      channels: spec.channels.map((c) => ({ label: c.label, type: c.type ?? 'eeg', unit: c.unit ?? 'uV' })),
      sampleRate: spec.rate,
    },
    data,
    samples: spec.samples,
    markers: spec.markers ?? [],
    ...(spec.startDate ? { startDate: spec.startDate } : {}),
  };
}

const roundTrip = (rec: Recording, options?: EdfWriteOptions): EdfRecording => parseEdf(new Uint8Array(encodeEdf(rec, options)), 'written.edf');

/**
 * Every value of the given channels (same index in the recording and the file) reads back within
 * half a quantisation step of the header's own scale, (physical max - physical min) / 65535 / 2,
 * plus the reader's rounding to float32 (half an ulp: at most |value| * 2^-24).
 */
function expectValuesWithinHalfStep(rec: Recording, back: EdfRecording, channels: number[]): void {
  const nIn = rec.info.channels.length;
  const nOut = back.info.channels.length;
  channels.forEach((c) => {
    const out = c;
    const sig = back.header.signals[out];
    const halfStep = (sig.physicalMax - sig.physicalMin) / 65535 / 2;
    let worst = 0;
    for (let s = 0; s < rec.samples; s++) {
      const want = rec.data[s * nIn + c];
      const got = back.data[s * nOut + out];
      const err = Math.abs(got - want) - Math.max(Math.abs(want), Math.abs(got)) * 2 ** -24;
      if (err > worst) worst = err;
    }
    expect(worst, `${sig.label}: worst error vs half step ${halfStep}`).toBeLessThanOrEqual(halfStep * (1 + 1e-9));
  });
}

/** Header text of the fixed part: [offset, width]. */
const ascii = (buf: Uint8Array, offset: number, width: number): string => Buffer.from(buf.subarray(offset, offset + width)).toString('latin1');

describe('EDF+ writer round trip through readEdf', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neurorx-edf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const markers: Marker[] = [
    { time: 0, value: 'start', duration: 0 },
    { time: 0.5, value: 'left hand', duration: 1.5 },
    { time: 2, value: '右手 imagery', duration: 4 }, // exactly on a record boundary
    { time: 2, value: 'same onset', duration: 0 },
    { time: 3.123456789, value: 'café au lait', duration: 0.000125 },
    { time: 1002 / 250, value: 'last sample', duration: 0 },
  ];
  const rec = recording({
    rate: 250,
    samples: 1003, // 4 whole records of 250 and 3 samples: 247 samples of padding
    startDate: new Date(Date.UTC(2023, 4, 17, 13, 45, 9, 250)),
    markers,
    channels: [
      { label: 'C3', value: (s) => 40 * Math.sin(s / 7) + 3 * Math.cos(s / 1.3) },
      { label: 'C4', value: (s) => -25 + 60 * Math.sin(s / 11) },
      { label: 'EOG left', type: 'eog', value: (s) => 300 * Math.sin(s / 50) },
      { label: 'Temp', type: 'misc', unit: 'degC', value: (s) => 36.5 + s * 1e-3 },
    ],
  });

  it('writes a file readEdf reads back: labels, units, rate, padded sample count, values, markers, start date', async () => {
    const file = path.join(dir, 'roundtrip.edf');
    await writeEdf(file, rec);
    const back = await readEdf(file);
    const layout = edfLayout(rec);

    expect(back.warnings).toEqual([]);
    expect(back.header.flavour).toBe('edf+c');
    expect(back.info.channels).toEqual([
      { label: 'C3', type: 'eeg', unit: 'uV' },
      { label: 'C4', type: 'eeg', unit: 'uV' },
      { label: 'EOG left', type: 'eog', unit: 'uV' },
      { label: 'Temp', type: 'misc', unit: 'degC' },
    ]);
    expect(back.info.sampleRate).toBe(250);
    expect(layout).toMatchObject({ recordSeconds: 1, samplesPerRecord: 250, records: 5, paddedSamples: 247 });
    expect(back.samples).toBe(1003 + 247);
    expectValuesWithinHalfStep(rec, back, [0, 1, 2, 3]);
    // the padding repeats each channel's last sample
    for (let s = 1003; s < back.samples; s++) {
      for (let c = 0; c < 4; c++) expect(back.data[s * 4 + c]).toBe(back.data[1002 * 4 + c]);
    }
    expect(back.markers.map((m) => [m.value, m.duration])).toEqual(markers.map((m) => [m.value, m.duration]));
    // the start's 250 ms sit in the time-keeping TALs: onsets come back to within rounding of doubles
    back.markers.forEach((m, i) => expect(Math.abs(m.time - markers[i].time), m.value).toBeLessThanOrEqual(1e-12));
    expect(back.startDate?.toISOString()).toBe('2023-05-17T13:45:09.250Z');
    expect(back.header.patientId).toBe('X X X X');
    expect(back.header.recordingId).toBe('Startdate 17-MAY-2023 X X neurorx');
    expect((await readFile(file)).equals(encodeEdf(rec))).toBe(true);
  });

  it('keeps onsets bit-exact when the start is on a whole second, markers before the start and past the end included', () => {
    const odd: Marker[] = [
      { time: -0.75, value: 'before', duration: 0.25 },
      { time: 1 / 3, value: 'third', duration: 1 / 7 },
      { time: 2.9999999, value: 'almost 3', duration: 0 },
      { time: 1e-7, value: 'tiny', duration: 0 },
      { time: 9.5, value: 'after', duration: 0 },
    ];
    const r = recording({ rate: 100, samples: 400, markers: odd, startDate: new Date(Date.UTC(2001, 0, 2, 3, 4, 5)), channels: [{ label: 'Cz', value: (s) => s % 17 }] });
    const back = roundTrip(r);
    const sorted = [...odd].sort((a, b) => a.time - b.time);
    expect(back.markers).toEqual(sorted);
    const bytes = encodeEdf(r);
    const text = bytes.toString('latin1');
    expect(text).toContain('-0.75\x150.25\x14before\x14\x00');
    expect(text).toContain('+0.0000001\x14tiny\x14\x00');
    expect(text).toContain('+0.3333333333333333\x150.14285714285714285\x14third\x14\x00');
    // "before" lives in the first record, "after" in the last (record 4, which starts at +3)
    const annStart = (rec: number): number => 256 * 3 + rec * (100 * 2 + edfLayout(r).annotationBytes) + 200;
    /* eslint-disable no-control-regex -- EDF+ annotations are delimited by control characters (TALs) */
    expect(text.slice(annStart(0), annStart(0) + 40)).toMatch(/^\+0\x14\x14\x00-0\.75\x150\.25\x14before\x14\x00/);
    expect(text.slice(annStart(3), annStart(3) + 40)).toMatch(/^\+3\x14\x14\x00\+9\.5\x14after\x14\x00/);
    /* eslint-enable no-control-regex */
  });

  it('writes 2 s records for 100.5 Hz and 3 s records for 1000/3 Hz; the reader gets the same rate back', () => {
    const a = recording({ rate: 100.5, samples: 1000, channels: [{ label: 'Fz', value: (s) => Math.sin(s) * 10 }] });
    expect(edfLayout(a)).toMatchObject({ recordSeconds: 2, samplesPerRecord: 201, records: 5, paddedSamples: 5 });
    const backA = roundTrip(a);
    expect(backA.info.sampleRate).toBe(100.5);
    expect(ascii(encodeEdf(a), 244, 8)).toBe('2       ');
    expectValuesWithinHalfStep(a, backA, [0]);

    const b = recording({ rate: 1000 / 3, samples: 2000, channels: [{ label: 'Fz', value: (s) => s }] });
    expect(edfLayout(b)).toMatchObject({ recordSeconds: 3, samplesPerRecord: 1000, records: 2 });
    expect(roundTrip(b).info.sampleRate).toBe(1000 / 3);

    const c = recording({ rate: 500, samples: 1000, channels: [{ label: 'Fz', value: (s) => s }] });
    expect(edfLayout(c, { recordSeconds: 0.5 })).toMatchObject({ recordSeconds: 0.5, samplesPerRecord: 250, records: 4 });
    expect(roundTrip(c, { recordSeconds: 0.5 }).info.sampleRate).toBe(500);
  });

  it('refuses a rate that fits no record of 1..60 whole seconds, naming the rate, and a bad recordSeconds', () => {
    const r = recording({ rate: 100.123456, samples: 10, channels: [{ label: 'Fz', value: () => 0 }] });
    expect(() => encodeEdf(r)).toThrow(/info\.sampleRate: 100\.123456 Hz gives no whole number of samples .*pass recordSeconds/);
    const ok = recording({ rate: 256, samples: 10, channels: [{ label: 'Fz', value: () => 0 }] });
    expect(() => encodeEdf(ok, { recordSeconds: 0.3 })).toThrow(/recordSeconds: 0\.3 s at 256 Hz is 76\.8 samples/);
    expect(() => encodeEdf(ok, { recordSeconds: 1 / 3 })).toThrow(/recordSeconds: 0\.333.* cannot be written exactly/);
    expect(() => encodeEdf(ok, { recordSeconds: -1 })).toThrow(EdfWriteError);
  });

  it('sizes the annotation signal for the fullest record: 300 markers in one record all come back', () => {
    const many: Marker[] = Array.from({ length: 300 }, (_, i) => ({ time: 3 + i / 1000, value: `stim ${i} ✓`, duration: i % 3 === 0 ? 0.1 : 0 }));
    const r = recording({ rate: 128, samples: 128 * 6, markers: [{ time: 0.5, value: 'early', duration: 0 }, ...many], channels: [{ label: 'Pz', value: (s) => s % 5 }] });
    const layout = edfLayout(r);
    const tals = many.reduce((sum, m) => sum + Buffer.byteLength(`+${m.time}${m.duration ? `\x15${m.duration}` : ''}\x14${m.value}\x14\x00`), 0);
    const keeping = Buffer.byteLength('+3\x14\x14\x00');
    expect(layout.annotationBytes).toBe(keeping + tals + ((keeping + tals) % 2));
    const back = roundTrip(r);
    expect(back.header.signals[1]).toMatchObject({ label: 'EDF Annotations', isAnnotation: true, samplesPerRecord: layout.annotationBytes / 2 });
    expect(back.markers).toEqual([{ time: 0.5, value: 'early', duration: 0 }, ...many]);
  });

  it('writes a flat channel with min < max: zero comes back exactly, another constant within half a step', () => {
    const r = recording({
      rate: 10,
      samples: 35,
      channels: [
        { label: 'Flat0', value: () => 0 },
        { label: 'Flat12.5', value: () => 12.5 },
        { label: 'FlatNeg', value: () => -0.003 },
        { label: 'FlatBig', value: () => 123456 },
      ],
    });
    const back = roundTrip(r);
    for (const sig of back.header.signals.slice(0, 4)) expect(sig.physicalMin, sig.label).toBeLessThan(sig.physicalMax);
    expect(back.header.signals[0]).toMatchObject({ physicalMin: -32768, physicalMax: 32767 });
    for (let s = 0; s < back.samples; s++) expect(back.data[s * 4]).toBe(0);
    expectValuesWithinHalfStep(r, back, [0, 1, 2, 3]);
    expect(Math.abs(back.data[1] - 12.5)).toBeLessThan(1e-6);
    expect(Math.abs(back.data[2] + 0.003)).toBeLessThan(1e-8);
    expect(back.warnings).toEqual([]);
  });

  it('keeps the precision of large (±50000 uV) and tiny (±1e-3 uV) channels: the header range is the data range, rounded outward', () => {
    const r = recording({
      rate: 200,
      samples: 2000,
      channels: [
        { label: 'Big', value: (s) => 50000 * Math.sin(s / 13.7) },
        { label: 'Tiny', value: (s) => 1e-3 * Math.sin(s / 3.1) },
        { label: 'Offset', value: (s) => 1234.5678 + 0.01 * Math.sin(s / 5) },
        { label: 'Neg', value: (s) => -9_000_000 - 100 * Math.cos(s) },
      ],
    });
    const back = roundTrip(r);
    expectValuesWithinHalfStep(r, back, [0, 1, 2, 3]);
    back.header.signals.slice(0, 4).forEach((sig, c) => {
      let min = Infinity;
      let max = -Infinity;
      for (let s = 0; s < r.samples; s++) {
        min = Math.min(min, r.data[s * 4 + c]);
        max = Math.max(max, r.data[s * 4 + c]);
      }
      expect(sig.physicalMin, sig.label).toBeLessThanOrEqual(min);
      expect(sig.physicalMax, sig.label).toBeGreaterThanOrEqual(max);
      // Outward rounding to the field's last decimal widens the range by at most one unit of that
      // decimal on each side: 0.2 % of the range for Big and Tiny; for Offset (1234.5678 +- 0.01) the
      // field holds 3 decimals, for Neg (-9000000 +- 100) none.
      const slack = [(max - min) * 0.002, (max - min) * 0.002, 0.002, 2][c];
      expect(sig.physicalMax - sig.physicalMin, sig.label).toBeLessThanOrEqual(max - min + slack);
    });
    // the 8-character fields as written
    const bytes = encodeEdf(r);
    const ns = 5;
    const physMinAt = 256 + ns * (16 + 80 + 8);
    const field = (at: number, s: number): string => ascii(bytes, at + 8 * s, 8);
    expect([0, 1, 2, 3, 4].map((s) => field(physMinAt, s))).toEqual(['-50000  ', '-0.001  ', '1234.557', '-9000100', '-1      ']);
    expect([0, 1, 2, 3, 4].map((s) => field(physMinAt + 8 * ns, s))).toEqual(['50000   ', '0.001   ', '1234.578', '-8999900', '1       ']);
  });

  it('lays the header out in exact field widths: 256 + 256 * ns bytes of printable ASCII', () => {
    const bytes = encodeEdf(rec);
    const ns = 5;
    const layout = edfLayout(rec);
    expect(layout.headerBytes).toBe(256 * (ns + 1));
    expect(bytes.length).toBe(layout.headerBytes + 5 * layout.recordBytes);
    expect(layout.recordBytes).toBe(4 * 250 * 2 + layout.annotationBytes);
    for (let i = 0; i < layout.headerBytes; i++) {
      if (bytes[i] < 0x20 || bytes[i] > 0x7e) throw new Error(`header byte ${i} is ${bytes[i]}`);
    }
    expect(ascii(bytes, 0, 8)).toBe('0       ');
    expect(ascii(bytes, 8, 80)).toBe('X X X X'.padEnd(80));
    expect(ascii(bytes, 88, 80)).toBe('Startdate 17-MAY-2023 X X neurorx'.padEnd(80));
    expect(ascii(bytes, 168, 8)).toBe('17.05.23');
    expect(ascii(bytes, 176, 8)).toBe('13.45.09');
    expect(ascii(bytes, 184, 8)).toBe('1536    ');
    expect(ascii(bytes, 192, 44)).toBe('EDF+C'.padEnd(44));
    expect(ascii(bytes, 236, 8)).toBe('5       ');
    expect(ascii(bytes, 244, 8)).toBe('1       ');
    expect(ascii(bytes, 252, 4)).toBe('5   ');
    const labels = Array.from({ length: ns }, (_, s) => ascii(bytes, 256 + 16 * s, 16));
    expect(labels).toEqual(['C3', 'C4', 'EOG left', 'Temp', 'EDF Annotations'].map((l) => l.padEnd(16)));
    const at = (widthsBefore: number, width: number, s: number): string => ascii(bytes, 256 + ns * widthsBefore + width * s, width);
    expect(at(16 + 80, 8, 3)).toBe('degC    '); // physical dimension
    expect(at(16 + 80, 8, 4)).toBe('        ');
    expect(at(16 + 80 + 8 * 3, 8, 0)).toBe('-32768  '); // digital minimum
    expect(at(16 + 80 + 8 * 4, 8, 4)).toBe('32767   '); // digital maximum
    expect(at(16 + 80 + 8 * 5 + 80, 8, 0)).toBe('250     '); // samples per record
    expect(at(16 + 80 + 8 * 5 + 80, 8, 4)).toBe(String(layout.annotationBytes / 2).padEnd(8));
    expect(256 + ns * (16 + 80 + 8 * 5 + 80 + 8 + 32)).toBe(layout.headerBytes);
    // first record's annotation signal: the time-keeping TAL carries the start's 250 ms
    const ann = bytes.subarray(layout.headerBytes + 4 * 250 * 2, layout.headerBytes + layout.recordBytes);
    expect(ascii(ann, 0, 8)).toBe('+0.25\x14\x14\x00');
    expect(ann[ann.length - 1]).toBe(0);
  });

  it('writes the EDF+ unknown-date form without a start date, and transducer/prefiltering/patient when given', () => {
    const r = recording({ rate: 10, samples: 10, channels: [{ label: 'Cz', value: (s) => s }] });
    const bytes = encodeEdf(r, { patient: 'MCH-0234567 F 02-MAY-1951 Haagse_Harry', transducer: 'AgAgCl electrode', prefiltering: 'HP:0.1Hz LP:75Hz' });
    expect(ascii(bytes, 88, 80).trim()).toBe('Startdate X X X neurorx');
    expect(ascii(bytes, 168, 16)).toBe('01.01.8500.00.00');
    const back = parseEdf(new Uint8Array(bytes), 'x.edf');
    expect(back.header.patientId).toBe('MCH-0234567 F 02-MAY-1951 Haagse_Harry');
    expect(back.header.signals[0]).toMatchObject({ transducer: 'AgAgCl electrode', prefiltering: 'HP:0.1Hz LP:75Hz' });
    expect(back.header.signals[1]).toMatchObject({ transducer: '', prefiltering: '' });
    expect(back.startDate?.toISOString()).toBe('1985-01-01T00:00:00.000Z');
    // startDate: null anonymises a recording that has a date
    const dated = { ...r, startDate: new Date(Date.UTC(2020, 5, 6, 7, 8, 9)) };
    expect(ascii(encodeEdf(dated), 88, 96)).toBe('Startdate 06-JUN-2020 X X neurorx'.padEnd(80) + '06.06.2007.08.09');
    expect(ascii(encodeEdf(dated, { startDate: null }), 88, 96)).toBe('Startdate X X X neurorx'.padEnd(80) + '01.01.8500.00.00');
    // the date rule: 2084 is "84", 1985 is "85"
    expect(ascii(encodeEdf(r, { startDate: new Date(Date.UTC(2084, 11, 31, 23, 59, 59)) }), 168, 16)).toBe('31.12.8423.59.59');
    expect(() => encodeEdf(r, { startDate: new Date(0) })).toThrow(/startDate: 1970-01-01T00:00:00\.000Z is outside 1985\.\.2084/);
    expect(() => encodeEdf(r, { startDate: new Date(Date.UTC(2020, 0, 1)), recording: 'Startdate 02-JAN-2020 X X X' })).toThrow(
      /recording: states "Startdate 02-JAN-2020" but the start date is 01-JAN-2020/,
    );
    expect(() => encodeEdf(r, { patient: 'x'.repeat(81) })).toThrow(/patient: .* has 81 characters, the EDF field 80/);
  });
});

describe('EDF+ writer channels and labels', () => {
  const base = (channels: ChannelSpec[]): Recording => recording({ rate: 4, samples: 8, channels });

  it('leaves stim channels out by default; named explicitly they are written unscaled and read back exactly', () => {
    const r = base([
      { label: 'C3', value: (s) => s * 1.5 },
      { label: 'Trigger', type: 'stim', value: (s) => (s % 4 === 0 ? 32767 : s) },
      { label: 'STI 014', type: 'stim', value: (s) => -s },
    ]);
    expect(edfLayout(r).labels).toEqual(['C3']);
    const back = roundTrip(r, { channels: ['Trigger', 'STI 014', 'C3'] });
    expect(back.info.channels.map((c) => [c.label, c.type])).toEqual([
      ['Trigger', 'stim'],
      ['STI 014', 'eeg'], // the reader knows stim channels by the names Status/Trigger only
      ['C3', 'eeg'],
    ]);
    for (let s = 0; s < 8; s++) {
      expect(back.data[s * 3]).toBe(s % 4 === 0 ? 32767 : s);
      expect(back.data[s * 3 + 1]).toBe(0 - s);
    }
    expect(() => encodeEdf(base([{ label: 'Trigger', type: 'stim', value: (s) => s / 2 }]), { channels: ['Trigger'] })).toThrow(
      /channel 1 "Trigger": sample 1 is 0\.5; a trigger channel is written unscaled and must hold integers/,
    );
    expect(() => encodeEdf(base([{ label: 'status', value: (s) => s * 10000 }]))).toThrow(/channel 1 "status": trigger codes must lie within -32768\.\.32767, found 0\.\.70000/);
    expect(() => encodeEdf(r, { channels: ['C3', 'Cz'] })).toThrow(/channels: no channel labelled "Cz" \(the recording has C3, Trigger, STI 014\)/);
    expect(() => encodeEdf(base([{ label: 'STI', type: 'stim', value: () => 0 }]))).toThrow(/channels: the recording has only stim channels/);
  });

  it('transliterates non-ASCII labels and units, cuts labels to 16 characters, and refuses clashes', () => {
    const r = base([
      { label: ' Fp1 ', value: (s) => s },
      { label: 'Électrode-frontale-gauche-1', unit: 'µV', value: (s) => s },
      { label: 'Ωmega', unit: 'μV', value: (s) => s },
      { label: 'Temp', unit: '°C', type: 'misc', value: (s) => s },
    ]);
    const back = roundTrip(r);
    expect(back.info.channels.map((c) => [c.label, c.unit])).toEqual([
      ['Fp1', 'uV'],
      ['Electrode-fronta', 'uV'],
      ['?mega', 'uV'],
      ['Temp', 'degC'],
    ]);
    expect(() =>
      encodeEdf(
        base([
          { label: 'Electrode-frontale-1', value: () => 0 },
          { label: 'Electrode-frontale-2', value: () => 0 },
        ]),
      ),
    ).toThrow(/channel 2 "Electrode-frontale-2": written as "Electrode-fronta", the same label as channel 1 "Electrode-frontale-1"/);
    expect(() => encodeEdf(base([{ label: 'EDF Annotations', value: () => 0 }]))).toThrow(/reserved for annotation signals/);
    expect(() => encodeEdf(base([{ label: '  ', value: () => 0 }]))).toThrow('EDF writer: channel 1 "  ": the label is empty');
    expect(() => encodeEdf(base([{ label: 'X', unit: 'microvolts', value: () => 0 }]))).toThrow(/channel 1 "X": unit "microvolts" is longer than the 8 characters/);
  });

  it('writes EDF+ "<type> <name>" labels with typePrefix, so channel types survive the reader', () => {
    const r = base([
      { label: 'C3', value: (s) => s },
      { label: 'HEOG', type: 'eog', value: (s) => s },
      { label: 'EKG', type: 'ecg', value: (s) => s },
      { label: 'EMG chin', type: 'emg', value: (s) => s },
      { label: 'belt', type: 'resp', unit: 'mV', value: (s) => s },
    ]);
    const back = roundTrip(r, { typePrefix: true });
    expect(back.info.channels.map((c) => [c.label, c.type])).toEqual([
      ['EEG C3', 'eeg'],
      ['EOG HEOG', 'eog'],
      ['ECG EKG', 'ecg'],
      ['EMG chin', 'emg'],
      ['Resp belt', 'resp'],
    ]);
    expect(roundTrip(r).info.channels.map((c) => c.type)).toEqual(['eeg', 'eeg', 'ecg', 'emg', 'eeg']);
  });

  it('names the channel and sample of a non-finite value, the marker at fault, and values too large for 8 characters', () => {
    expect(() =>
      encodeEdf(
        base([
          { label: 'C3', value: () => 1 },
          { label: 'C4', value: (s) => (s === 5 ? NaN : s) },
        ]),
      ),
    ).toThrow('EDF writer: channel 2 "C4": sample 5 is NaN; EDF samples are finite numbers');
    expect(() => encodeEdf(base([{ label: 'C4', value: (s) => (s === 2 ? -Infinity : s) }]))).toThrow(/channel 1 "C4": sample 2 is -Infinity/);
    expect(() => encodeEdf(base([{ label: 'Huge', value: (s) => s * 1e8 }]))).toThrow(/channel 1 "Huge": values 0\.\.700000000 do not fit .* use a larger unit/);
    const withMarkers = (m: Marker): Recording => ({ ...base([{ label: 'C3', value: (s) => s }]), markers: [m] });
    expect(() => encodeEdf(withMarkers({ time: 1, value: '', duration: 0 }))).toThrow(/marker 1 \("" at 1 s\): an empty text cannot be stored/);
    expect(() => encodeEdf(withMarkers({ time: 1, value: 'x', duration: -1 }))).toThrow(/marker 1 .*duration must be 0 or more seconds, found -1/);
    expect(() => encodeEdf(withMarkers({ time: NaN, value: 'x', duration: 0 }))).toThrow(/marker 1 .*time must be a finite number/);
    // control characters would break TALs (and MNE's parser stops at newlines)
    const back = roundTrip(withMarkers({ time: 1, value: 'a\tb\nc\x14d\x00e', duration: 0 }));
    expect(back.markers).toEqual([{ time: 1, value: 'a b c?d?e', duration: 0 }]);
  });

  it('writes no file when the recording cannot be written, and never overwrites unless told to', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neurorx-edf-'));
    try {
      const file = path.join(dir, 'x.edf');
      await expect(writeEdf(file, base([{ label: 'C3', value: () => NaN }]))).rejects.toThrow(/sample 0 is NaN/);
      await expect(readFile(file)).rejects.toThrow(/ENOENT/);
      await writeFile(file, 'keep me');
      const r = base([{ label: 'C3', value: (s) => s }]);
      await expect(writeEdf(file, r)).rejects.toThrow(`EDF writer: path: ${file} already exists; pass overwrite: true to replace it`);
      expect(await readFile(file, 'utf8')).toBe('keep me');
      await writeEdf(file, r, { overwrite: true });
      expect((await readEdf(file)).samples).toBe(8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streams a multi-block file to disk with the same bytes as encodeEdf', async () => {
    // 8 MB blocks: 64 channels at 500 Hz is 64 000 bytes per record, so 200 s spans two blocks
    const nch = 64;
    const r = recording({
      rate: 500,
      samples: 500 * 200 + 123,
      channels: Array.from({ length: nch }, (_, c) => ({ label: `E${c + 1}`, value: (s: number) => ((s * (c + 1)) % 1000) - 500 + c / 7 })),
      markers: [{ time: 150.25, value: 'late', duration: 1 }],
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'neurorx-edf-'));
    try {
      const file = path.join(dir, 'big.edf');
      await writeEdf(file, r);
      const disk = await readFile(file);
      expect(disk.equals(encodeEdf(r))).toBe(true);
      const back = await readEdf(file);
      expect(back.samples).toBe(500 * 201);
      expect(back.markers).toEqual([{ time: 150.25, value: 'late', duration: 1 }]);
      expectValuesWithinHalfStep(r, back, [0, 31, 63]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
