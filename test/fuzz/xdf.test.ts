import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { parseXdf, type XdfDocument } from '../../devices/file/xdf-reader.js';
import { xdfToRecording } from '../../devices/file/xdf-recording.js';
import { XdfWriter } from '../../devices/file/xdf-writer.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedBytes } from '../helpers/fuzz.js';
import { checkBounded, checkRecording, parsesOrFailsCleanly } from '../helpers/recording-check.js';

const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-xdf-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small recording as the XDF writer makes it: an EEG stream, an int16 stream, markers, clock offsets, boundaries. */
function writtenFile(): Uint8Array {
  const file = path.join(dir, 'base.xdf');
  const w = new XdfWriter(file, { flushIntervalMs: 60_000, boundaryIntervalMs: 0 });
  const ch = (n: number) => Array.from({ length: n }, (_, k) => ({ label: `c${k}`, unit: 'microvolts', type: 'EEG' }));
  const eeg = w.addStream({ name: 'eeg', type: 'EEG', channelFormat: 'float32', channels: ch(3), nominalSrate: 100 });
  const aux = w.addStream({ name: 'aux', type: 'AUX', channelFormat: 'int16', channels: ch(2), nominalSrate: 10 });
  const markers = w.addStream({ name: 'markers', type: 'Markers', channelFormat: 'string', channels: ch(1), nominalSrate: 0 });
  for (let k = 0; k < 3; k++) {
    w.push(
      eeg,
      Float32Array.from({ length: 30 }, (_, i) => Math.sin(i + k)),
      Float64Array.from({ length: 10 }, (_, s) => 5 + (10 * k + s) / 100),
    );
    w.push(aux, Int16Array.from([k, -k]), [5 + k / 10]);
    w.push(markers, [`cue ${k}`], [5.05 + k * 0.1]);
    w.clockOffset(eeg, 5 + k, -0.001 * k);
    w.flush();
  }
  w.close();
  return new Uint8Array(readFileSync(file));
}

const BASE = writtenFile();

/** The document's own invariants: values and stamps sized by the sample count. */
function checkDocument(doc: XdfDocument): void {
  for (const s of doc.streams) {
    if (s.timeSeries.length !== s.sampleCount * s.channelCount) throw new Error(`stream ${s.id}: ${s.timeSeries.length} values for ${s.sampleCount} x ${s.channelCount}`);
    if (s.timeStamps.length !== s.sampleCount) throw new Error(`stream ${s.id}: ${s.timeStamps.length} stamps for ${s.sampleCount} samples`);
  }
}

const read = (bytes: Uint8Array): void =>
  parsesOrFailsCleanly(
    () => parseXdf(bytes),
    (doc) => {
      checkDocument(doc);
      parsesOrFailsCleanly(
        () => xdfToRecording(doc, 'fuzz.xdf'),
        (rec) => {
          checkRecording(rec);
          checkBounded(rec, bytes.length);
        },
      );
    },
  );

describe('XDF reader fuzz: a well-formed document and Recording, or a clean error', () => {
  it(
    'mutated files from the XDF writer',
    () => {
      fc.assert(fc.property(mutatedBytes(BASE), read), fuzzParams(400));
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random chunks after the "XDF:" signature',
    () => {
      const chunk = fc.record({
        tag: fc.integer({ min: 0, max: 7 }),
        content: fc.uint8Array({ maxLength: 40 }),
        lenBytes: fc.constantFrom(1, 4, 8, 2),
      });
      fc.assert(
        fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
          const parts: number[] = [...Buffer.from('XDF:')];
          for (const c of chunks) {
            const length = c.content.length + 2;
            parts.push(c.lenBytes);
            for (let b = 0; b < c.lenBytes; b++) parts.push(b < 4 ? (length >>> (8 * b)) & 0xff : 0);
            parts.push(c.tag, 0, ...c.content);
          }
          read(Uint8Array.from(parts));
        }),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random bytes',
    () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), read), fuzzParams(200));
    },
    FUZZ_TIMEOUT_MS,
  );
});
