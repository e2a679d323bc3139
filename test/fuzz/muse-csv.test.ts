import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseMuseCsv } from '../../devices/datasets/n170.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { checkBounded, checkRecording, parsesOrFailsCleanly } from '../helpers/recording-check.js';

/** A muse-lsl run in small: 40 rows, jittery stamps, house and face markers, one unknown code. */
const rows = Array.from({ length: 40 }, (_, s) => {
  const eeg = [0, 1, 2, 3].map((c) => (Math.sin(s + c) * 40).toFixed(3));
  const marker = s === 5 ? 1 : s === 17 ? 2 : s === 30 ? 7 : 0;
  return [(149958.124 + s / 256 + (s % 3) * 0.004).toFixed(3), ...eeg, '12.695', String(marker)].join(',');
});
const BASE = new TextEncoder().encode(`timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0\n${rows.join('\n')}\n`);
const utf8 = new TextDecoder();

const read = (text: string): void =>
  parsesOrFailsCleanly(
    () => parseMuseCsv(text, 'fuzz.csv'),
    (rec) => {
      checkRecording(rec);
      checkBounded(rec, text.length);
    },
  );

describe('Muse CSV reader fuzz: a well-formed Recording or a clean error', () => {
  it(
    'mutated runs',
    () => {
      fc.assert(
        fc.property(mutatedBytes(BASE), (bytes) => read(utf8.decode(bytes))),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'rows of number-like fields (signs, points, exponents, hex, blanks, CR)',
    () => {
      const field = fc.string({ unit: fc.constantFrom(...'0123456789+-.eExX \r'.split('')), maxLength: 8 });
      const row = fc.array(field, { minLength: 6, maxLength: 8 }).map((f) => f.join(','));
      fc.assert(
        fc.property(fc.array(row, { maxLength: 20 }), (lines) => read(`timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0\n${lines.join('\n')}`)),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random text',
    () => {
      fc.assert(fc.property(fc.string({ maxLength: 500 }), read), fuzzParams(200));
    },
    FUZZ_TIMEOUT_MS,
  );
});
