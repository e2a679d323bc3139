import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { listVariables, readMat, type MatValue } from '../../devices/file/mat-v5-reader.js';
import { FIXTURES } from '../helpers/data.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { parsesOrFailsCleanly } from '../helpers/recording-check.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIXTURES, 'emotion', name)));

/** Every array holds as many elements as its dimensions say. */
function checkValue(v: MatValue, where: string): void {
  const count = v.dims.reduce((a, b) => a * b, 1);
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  if (v.kind === 'numeric' || v.kind === 'logical') {
    if (v.data.length !== count) fail(`${v.data.length} values for dims ${v.dims.join('x')}`);
  } else if (v.kind === 'cell') {
    if (v.cells.length !== count) fail(`${v.cells.length} cells for dims ${v.dims.join('x')}`);
    v.cells.forEach((c, k) => checkValue(c, `${where}{${k + 1}}`));
  } else if (v.kind === 'struct') {
    if (v.elements.length !== count) fail(`${v.elements.length} elements for dims ${v.dims.join('x')}`);
    v.elements.forEach((e, k) => e.forEach((f, name) => checkValue(f, `${where}(${k + 1}).${name}`)));
  }
}

const read = (bytes: Uint8Array): void => {
  parsesOrFailsCleanly(
    () => readMat(bytes, { source: 'fuzz.mat' }),
    (vars) => vars.forEach((v, name) => checkValue(v, name)),
  );
  parsesOrFailsCleanly(
    () => listVariables(bytes, { source: 'fuzz.mat' }),
    () => {},
  );
};

describe('MAT v5 reader fuzz: values sized as their dimensions say, or a clean error', () => {
  // plain (every class scipy writes), compressed (-v7), big-endian, and a DREAMER-like struct of
  // cells (16 KB compressed: fewer runs)
  const bases: [string, number][] = [
    ['mat-classes.mat', 300],
    ['mat-classes-z.mat', 300],
    ['mat-handmade-be.mat', 300],
    ['dreamer-mini.mat', 120],
  ];
  for (const [name, runs] of bases) {
    it(
      `mutated ${name}`,
      () => {
        fc.assert(fc.property(mutatedBytes(fixture(name)), read), fuzzParams(runs));
      },
      FUZZ_TIMEOUT_MS,
    );
  }

  it(
    'random bytes after a valid 128-byte header',
    () => {
      const head = fixture('mat-classes.mat').subarray(0, 128);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), (tail) => read(Uint8Array.from([...head, ...tail]))),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
