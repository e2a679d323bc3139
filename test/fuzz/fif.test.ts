import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseFif } from '../../devices/file/fif-reader.js';
import { FifBytes, smallFif } from '../helpers/fif-bytes.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { checkBounded, checkRecording, parsesOrFailsCleanly } from '../helpers/recording-check.js';

/** EEG and stim channels in float buffers, a skip between them, a bad channel list. */
function floatFile(): Uint8Array {
  const f = new FifBytes().start(100).start(101).ints(200, 3).float(201, 250);
  f.channel({ name: 'EEG 001', kind: 2, unit: 107, coil: 1, cal: 1e-6, loc: [0.01, 0.02, 0.09] });
  f.channel({ name: 'EOG 061', kind: 202, unit: 107, coil: 1 });
  f.channel({ name: 'STI101', kind: 3, unit: 0, coil: 0 });
  f.end(101).start(102);
  const floats = (values: number[]): Uint8Array => {
    const d = new DataView(new ArrayBuffer(4 * values.length));
    values.forEach((v, i) => d.setFloat32(4 * i, v, false));
    return new Uint8Array(d.buffer);
  };
  f.tag(300, 4, floats([1, 2, 0, 3, 4, 5, 5, 6, 5]));
  f.ints(301, 1);
  f.tag(300, 4, floats([7, 8, 0, 9, 10, 2, 11, 12, 0]));
  f.end(102).start(359).tag(3507, 10, new TextEncoder().encode('EOG 061')).end(359).end(100);
  return f.directory().bytes();
}

const BASES: Record<string, Uint8Array> = {
  'short buffers, walked': smallFif({}),
  'short buffers, skips, directory': smallFif({ leadingSkip: 1, middleSkip: 2, directory: true }),
  'float buffers, skip, bads, directory': floatFile(),
};

const read = (bytes: Uint8Array): void =>
  parsesOrFailsCleanly(
    () => parseFif(bytes, { source: 'fuzz.fif' }),
    (rec) => {
      checkRecording(rec);
      checkBounded(rec, bytes.length);
    },
  );

describe('FIF reader fuzz: a well-formed Recording or a clean error', () => {
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
    'tag words overwritten with extreme integers (sizes, next pointers, skip counts, channel counts)',
    () => {
      const base = BASES['short buffers, skips, directory'];
      const extreme = fc.oneof(fc.constantFrom(-1, 0, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 24, 65536), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
      const edit = fc.record({ word: fc.nat({ max: Math.floor(base.length / 4) - 1 }), value: extreme });
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
          const b = base.slice();
          const view = new DataView(b.buffer);
          for (const e of edits) view.setInt32(4 * e.word, e.value, false);
          read(b);
        }),
        fuzzParams(600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random bytes',
    () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 1000 }), read), fuzzParams(200));
    },
    FUZZ_TIMEOUT_MS,
  );
});
