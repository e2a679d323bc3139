import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseEdf } from '../../devices/file/edf-reader.js';
import { encodeEdf } from '../../devices/file/edf-writer.js';
import { buildEdf } from '../helpers/edf-bytes.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { checkBounded, checkRecording, parsesOrFailsCleanly } from '../helpers/recording-check.js';

const tal = (s: string): string => s.replace(/\|/g, '\x14').replace(/~/g, '\x15').replace(/#/g, '\x00');
const ramp = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + 7 * i);

/** Small valid files: EDF+ with a slow signal and annotations, BDF with a Status channel, one from our writer. */
const BASES: Record<string, Uint8Array> = {
  'EDF+ (slow signal, annotations)': buildEdf({
    signals: [
      { label: 'C3', records: [ramp(8, 0), ramp(8, 100), ramp(8, -100)] },
      {
        label: 'Resp',
        dimension: 'mV',
        records: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      },
    ],
    annotations: [tal('+0||#+0.5~1.5|left|#'), tal('+1||#'), tal('+2||#+2.25|feet|right|#')],
  }),
  'BDF (Status channel)': buildEdf({
    bdf: true,
    signals: [
      { label: 'Fz', records: [ramp(4, -8000), ramp(4, 8000)] },
      {
        label: 'Status',
        records: [
          [0, 1, 0, 2],
          [0x10000, 3, 3, 0],
        ],
      },
    ],
  }),
  'EDF+ from the EDF writer': encodeEdf({
    info: {
      name: 'w',
      type: 'EEG',
      sourceId: 'w',
      sampleRate: 16,
      channels: [
        { label: 'Cz', type: 'eeg', unit: 'uV' },
        { label: 'EOG', type: 'eog', unit: 'uV' },
      ],
    },
    data: Float32Array.from({ length: 2 * 40 }, (_, i) => Math.sin(i) * 50),
    samples: 40,
    markers: [
      { time: 0.5, value: 'cue', duration: 0 },
      { time: 2, value: 'end', duration: 0.25 },
    ],
  }),
};

const read = (bytes: Uint8Array): void =>
  parsesOrFailsCleanly(
    () => parseEdf(bytes, 'fuzz.edf'),
    (rec) => {
      checkRecording(rec);
      checkBounded(rec, bytes.length);
    },
  );

/** [offset, width] of every header field of a file with `ns` signals. */
function headerFields(ns: number): [number, number][] {
  const fields: [number, number][] = [
    [0, 8],
    [8, 80],
    [88, 80],
    [168, 8],
    [176, 8],
    [184, 8],
    [192, 44],
    [236, 8],
    [244, 8],
    [252, 4],
  ];
  let at = 256;
  for (const width of [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]) {
    for (let s = 0; s < ns; s++) fields.push([at + s * width, width]);
    at += width * ns;
  }
  return fields;
}

describe('EDF/BDF reader fuzz: a well-formed Recording or a clean error', () => {
  for (const [name, base] of Object.entries(BASES)) {
    it(
      `mutated ${name}`,
      () => {
        fc.assert(fc.property(mutatedBytes(base), read), fuzzParams(400));
      },
      FUZZ_TIMEOUT_MS,
    );
  }

  it(
    'header fields overwritten with number-like text (signs, points, exponents, hex, NUL, control bytes)',
    () => {
      const base = BASES['EDF+ (slow signal, annotations)'];
      const fields = headerFields(3);
      const text = fc.string({ unit: fc.constantFrom(...'0123456789+-.,eExX aZ\x00\x01\x7f\xb5'.split('')), maxLength: 12 });
      const edit = fc.record({ field: fc.integer({ min: 0, max: fields.length - 1 }), text });
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          const b = base.slice();
          for (const { field, text: t } of edits) {
            const [at, width] = fields[field];
            for (let i = 0; i < width; i++) b[at + i] = i < t.length ? t.charCodeAt(i) & 0xff : 0x20;
          }
          read(b);
        }),
        fuzzParams(600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random bytes, bare and after a valid fixed header',
    () => {
      const head = BASES['EDF+ (slow signal, annotations)'].subarray(0, 256);
      fc.assert(
        fc.property(fc.boolean(), fc.uint8Array({ maxLength: 3000 }), (withHead, tail) => {
          read(withHead ? Uint8Array.from([...head, ...tail]) : tail);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'hostile samples-per-record mixes: what the header makes the reader hold stays bounded',
    () => {
      // One record whose signals have random sample counts (the data present): slow signals are held
      // up to the fastest rate, which is where a header can ask for far more memory than the file holds.
      const spec = fc.record({
        fast: fc.integer({ min: 50_000, max: 100_000 }),
        slow: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 150, maxLength: 300 }),
      });
      fc.assert(
        fc.property(spec, ({ fast, slow }) => {
          const bytes = buildEdf({
            signals: [{ label: 'Fast', records: [new Array<number>(fast).fill(1)] }, ...slow.map((n, i) => ({ label: `S${i}`, records: [new Array<number>(n).fill(2)] }))],
          });
          read(bytes);
        }),
        { ...fuzzParams(8), endOnFailure: true }, // shrinking half-megabyte files takes minutes
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'annotation blocks of arbitrary TAL-like text',
    () => {
      const text = fc.string({ unit: fc.constantFrom(...'+-0123456789.e\x14\x15\x00 a'.split('')), maxLength: 60 });
      fc.assert(
        fc.property(fc.array(text, { minLength: 2, maxLength: 2 }), (tals) => {
          read(buildEdf({ signals: [{ label: 'Cz', records: [ramp(4, 0), ramp(4, 4)] }], annotations: tals, annotationBytes: 60 }));
        }),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
