import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { NdArray, readPickle, type PickleValue } from '../../devices/file/python-pickle-reader.js';
import { FIXTURES } from '../helpers/data.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { parsesOrFailsCleanly } from '../helpers/recording-check.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIXTURES, 'emotion', name)));

/** Every numpy array holds as many values as its shape says (walks shared and cyclic values once). */
function checkValue(v: PickleValue, seen = new Set<object>()): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (v instanceof NdArray) {
    const count = v.shape.reduce((a, b) => a * b, 1);
    if (v.data.length !== count) throw new Error(`numpy array of shape (${v.shape.join(', ')}) holds ${v.data.length} values`);
  } else if (Array.isArray(v)) {
    for (const x of v) checkValue(x, seen);
  } else if (v instanceof Map) {
    for (const x of v.values()) checkValue(x, seen);
  }
}

const read = (bytes: Uint8Array): void =>
  parsesOrFailsCleanly(
    () => readPickle(bytes, { source: 'fuzz.pkl' }),
    (v) => checkValue(v),
  );

/** The opcodes a pickle is made of, for programs of random opcodes with plausible arguments. */
const OPCODES = '()0.12FIJKLMNPQRSTUVXabcdeghijlopqrstu}]\x80\x81\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98BC';

describe('Python pickle reader fuzz: plain data and well-sized arrays, or a clean error', () => {
  const bases: Record<string, Uint8Array> = {
    'protocol 0': fixture('pickle-p0.pkl'),
    'protocol 2 (Python 2)': fixture('pickle-p2-py2.pkl'),
    'protocol 4': fixture('pickle-p4.pkl'),
    'protocol 5': fixture('pickle-p5.pkl'),
    'DEAP subject (cPickle, numpy arrays)': new Uint8Array(gunzipSync(fixture('deap/s01.dat.gz'))).subarray(0, 4096),
  };
  for (const [name, base] of Object.entries(bases)) {
    it(
      `mutated ${name}`,
      () => {
        fc.assert(fc.property(mutatedBytes(base), read), fuzzParams(300));
      },
      FUZZ_TIMEOUT_MS,
    );
  }

  it(
    'programs of random opcodes and argument bytes',
    () => {
      const op = fc.tuple(fc.constantFrom(...OPCODES.split('').map((c) => c.charCodeAt(0))), fc.uint8Array({ maxLength: 6 }));
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => read(Uint8Array.from([0x80, 2, ...ops.flatMap(([o, args]) => [o, ...args]), 0x2e]))),
        fuzzParams(600),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
