import { FREE_VALUES, MAX_EXPANSION, MAX_RECORDING_VALUES } from '../../devices/file/read-limits.js';
import type { Recording } from '../../src/stream/recording.js';
import { isCleanError } from './fuzz.js';

/**
 * What every file reader must hand back: a finite sample rate > 0, `samples * channels` values,
 * markers in time order with finite times, warnings as text and gaps with finite numbers. Throws
 * (failing the property) naming the first thing that is wrong.
 */
export function checkRecording(rec: Recording): void {
  const fail = (why: string): never => {
    throw new Error(`malformed recording: ${why}`);
  };
  const rate = rec.info.sampleRate;
  if (!(Number.isFinite(rate) && rate > 0)) fail(`sample rate ${rate}`);
  if (!Number.isInteger(rec.samples) || rec.samples < 0) fail(`samples ${rec.samples}`);
  if (rec.data.length !== rec.samples * rec.info.channels.length) {
    fail(`data holds ${rec.data.length} values for ${rec.samples} samples x ${rec.info.channels.length} channels`);
  }
  rec.markers.forEach((m, i) => {
    if (!Number.isFinite(m.time)) fail(`marker ${i} at time ${m.time}`);
    if (i > 0 && m.time < rec.markers[i - 1].time) fail(`marker ${i} at ${m.time} s before marker ${i - 1} at ${rec.markers[i - 1].time} s`);
    if (typeof m.value !== 'string') fail(`marker ${i} value ${String(m.value)}`);
  });
  for (const w of rec.warnings ?? []) if (typeof w !== 'string' || w === '') fail(`warning ${JSON.stringify(w)}`);
  for (const g of rec.gaps ?? []) {
    if (![g.time, g.samples, g.seconds].every(Number.isFinite) || g.samples < 0 || g.seconds < 0 || g.cause === '') fail(`gap ${JSON.stringify(g)}`);
  }
}

/**
 * The property every parser fuzz test checks: `parse` returns a value `check` accepts, or throws a
 * clean Error (see isCleanError); anything else is rethrown so fast-check reports it.
 */
export function parsesOrFailsCleanly<T>(parse: () => T, check: (value: T) => void): void {
  let value: T;
  try {
    value = parse();
  } catch (e) {
    if (isCleanError(e)) return;
    throw e;
  }
  check(value);
}

/**
 * What read-limits.ts lets a file make a reader hold: every format stores a value in at least one
 * byte, so a recording read from `fileBytes` bytes holds at most MAX_EXPANSION values per byte
 * beyond FREE_VALUES, and never more than MAX_RECORDING_VALUES.
 */
export function checkBounded(rec: Recording, fileBytes: number): void {
  const values = rec.data.length;
  if (values > Math.max(FREE_VALUES, MAX_EXPANSION * fileBytes) || values > MAX_RECORDING_VALUES) {
    throw new Error(`a ${fileBytes}-byte file made the reader hold ${values} values`);
  }
}
