import fc from 'fast-check';

/**
 * Property-based fuzzing settings shared by every test/fuzz/*.test.ts.
 * - `npm test` (and CI): a fixed seed and a modest number of runs, so a failure reproduces.
 * - `npm run fuzz`: NEURORX_FUZZ_SECONDS=N runs each property for N seconds with a fresh seed
 *   (printed, with the path, when a property fails: rerun with NEURORX_FUZZ_SEED=... to reproduce).
 * NEURORX_FUZZ_SEED and NEURORX_FUZZ_RUNS override either mode.
 */
const seconds = Number(process.env.NEURORX_FUZZ_SECONDS ?? 0);
const long = seconds > 0;
const seedEnv = process.env.NEURORX_FUZZ_SEED;

export const FUZZ_SEED = seedEnv !== undefined ? Number(seedEnv) : long ? Date.now() % 2 ** 31 : 20261207;

/** vitest timeout for one fuzz test: room for the time limit plus shrinking. */
export const FUZZ_TIMEOUT_MS = long ? seconds * 1000 + 120_000 : 120_000;

/** fast-check parameters: `runs` is the count for `npm test` (keep each property under a few seconds there). */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  const envRuns = process.env.NEURORX_FUZZ_RUNS;
  if (long) {
    return { seed: FUZZ_SEED, numRuns: envRuns ? Number(envRuns) : 1_000_000_000, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false };
  }
  return { seed: FUZZ_SEED, numRuns: envRuns ? Number(envRuns) : runs };
}

/** Flips, overwrites, inserts and deletes bytes of a valid file: the mutations a broken disk or a hostile file makes. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 8 }).map((edits) => {
    let b = Uint8Array.from(valid);
    for (const e of edits) {
      if (b.length === 0) break;
      const at = e.at % b.length;
      if (e.op === 'set') b[at] = e.byte;
      else if (e.op === 'flip') b[at] ^= 1 << e.bit;
      else if (e.op === 'truncate') b = b.subarray(0, at);
      else if (e.op === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...e.bytes, ...b.subarray(at)]);
      else b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + e.count)]);
    }
    return b;
  });
}

/**
 * What a parser may do with hostile input: return, or throw an Error with a message (no TypeError
 * or RangeError from deep inside, which means an unchecked field, and never hang or blow up).
 */
export function isCleanError(e: unknown): boolean {
  return e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && e.message.length > 0;
}

/** Cuts `bytes` into pieces of the given sizes (cycled; no sizes: one piece), as reads from a socket or a port cut a stream. */
export function splitBytes(bytes: Uint8Array, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes.length > 0 ? sizes[k % sizes.length] : bytes.length;
    out.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}
