import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES } from '../devices/nats/eeg-frame.js';
import { checkStreamName } from '../devices/nats/eeg-bus-names.js';
import type { Chunk, StreamInfo } from '../src/stream/types.js';
import { Random } from '../src/util/random.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, isCleanError, mutatedBytes } from './helpers/fuzz.js';

const info = (channels: number): StreamInfo => ({
  name: 'amp',
  type: 'EEG',
  sourceId: 'test',
  channels: Array.from({ length: channels }, (_, c) => ({ label: `Ch${c + 1}`, type: 'eeg' as const, unit: 'uV' })),
  sampleRate: 160,
});

function chunk(channels: number, samples: number, opts: { markers?: number; timestamps?: boolean; seed?: number } = {}): Chunk {
  const random = new Random(opts.seed ?? 1);
  const i = info(channels);
  const time = 12.5 + random.uniform();
  return {
    info: i,
    data: Float32Array.from({ length: channels * samples }, () => (random.uniform() - 0.5) * 200),
    samples,
    firstSample: 2000 + samples,
    time,
    ...(opts.timestamps ? { timestamps: Float64Array.from({ length: samples }, (_, s) => time + s / 160 + random.uniform() * 1e-4) } : {}),
    markers: Array.from({ length: opts.markers ?? 0 }, (_, k) => ({ time: time + k / 320, value: k % 2 ? 'left' : 'ré-ght "x"', duration: k * 0.5 })),
    receivedAt: 0,
  };
}

describe('EEG frame', () => {
  it.each([
    [1, 1, 0, false],
    [8, 16, 1, false],
    [64, 32, 3, true],
    [64, 160, 0, true],
    [306, 7, 2, false],
  ])('round trip: %i channels x %i samples, %i markers, timestamps %s', (channels, samples, markers, timestamps) => {
    const c = chunk(channels, samples, { markers, timestamps });
    const bytes = encodeFrame(c, 41);
    expect(bytes.length).toBe(FRAME_HEADER_BYTES + (timestamps ? 8 * samples : 0) + 4 * channels * samples + (markers ? new TextEncoder().encode(JSON.stringify(c.markers)).length : 0));
    const f = decodeFrame(bytes, info(channels));
    expect(f.seq).toBe(41);
    expect(f.firstSample).toBe(c.firstSample);
    expect(f.samples).toBe(samples);
    expect(f.time).toBe(c.time);
    expect(f.data).toEqual(c.data);
    expect(f.timestamps).toEqual(c.timestamps);
    expect(f.markers).toEqual(c.markers);
  });

  it('encodes into a given buffer when it is large enough (a view of its first bytes)', () => {
    const out = new Uint8Array(1 << 16);
    const c = chunk(8, 16, { markers: 1 });
    const bytes = encodeFrame(c, 3, out);
    expect(bytes.buffer).toBe(out.buffer);
    expect(decodeFrame(bytes, info(8)).data).toEqual(c.data);
    // misaligned input (a NATS message is a view into the socket buffer)
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(decodeFrame(shifted.subarray(1), info(8)).data).toEqual(c.data);
  });

  const valid = (): Uint8Array => encodeFrame(chunk(4, 8, { markers: 2, timestamps: true }), 5);
  const patch = (edit: (v: DataView, b: Uint8Array) => void, bytes = valid()): Uint8Array => {
    edit(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), bytes);
    return bytes;
  };
  it.each<[string, () => Uint8Array, RegExp]>([
    ['short', () => valid().subarray(0, 20), /shorter than the 48-byte header/],
    ['magic', () => patch((v) => v.setUint32(0, 0x12345678, true)), /bad magic 0x12345678 at byte 0/],
    ['version', () => patch((v) => v.setUint8(4, 9)), /format version 9 at byte 4/],
    ['flags', () => patch((v) => v.setUint8(5, 0x81)), /unknown flag bits 0x81 at byte 5/],
    ['reserved', () => patch((v) => v.setUint16(6, 1, true)), /reserved field at byte 6/],
    ['channels', () => patch((v) => v.setUint32(8, 5, true)), /channel count 5 at byte 8, the stream "amp" has 4/],
    ['samples 0', () => patch((v) => v.setUint32(12, 0, true)), /sample count 0 at byte 12/],
    ['samples', () => patch((v) => v.setUint32(12, 20, true)), /length mismatch: 20 samples x 4 channels with timestamps need/],
    ['seq', () => patch((v) => v.setBigUint64(16, 2n ** 60n, true)), /sequence number \d+ at byte 16 is beyond 2\^53/],
    ['firstSample', () => patch((v) => v.setBigUint64(24, 2n ** 63n, true)), /firstSample \d+ at byte 24/],
    ['time', () => patch((v) => v.setFloat64(32, NaN, true)), /time NaN at byte 32 is not finite/],
    ['markers overrun', () => patch((v) => v.setUint32(40, v.getUint32(40, true) + 1, true)), /markers section of \d+ bytes \(byte 40\) overruns/],
    ['markers short', () => patch((v) => v.setUint32(40, v.getUint32(40, true) - 1, true)), /does not reach the end/],
    ['timestamp', () => patch((v) => v.setFloat64(48 + 8 * 3, Infinity, true)), /timestamp 3 \(Infinity\) at byte 72 is not finite/],
    ['markers json', () => patch((_, b) => (b[b.length - 1] = 0x7b)), /markers section at byte \d+: not UTF-8 JSON/],
    ['markers utf8', () => patch((_, b) => (b[b.length - 3] = 0xff)), /markers section at byte \d+: not UTF-8 JSON/],
    ['reserved 44', () => patch((v) => v.setUint32(44, 7, true)), /reserved field at byte 44/],
  ])('rejects a malformed frame naming the field: %s', (_, make, message) => {
    expect(() => decodeFrame(make(), info(4))).toThrow(message);
  });

  it('rejects markers of the wrong shape and frames beyond the size limit', () => {
    const c = chunk(2, 2);
    const withMarkers = (json: string): Uint8Array => {
      const body = encodeFrame(c, 0);
      const m = new TextEncoder().encode(json);
      const out = new Uint8Array(body.length + m.length);
      out.set(body);
      out.set(m, body.length);
      new DataView(out.buffer).setUint32(40, m.length, true);
      return out;
    };
    expect(() => decodeFrame(withMarkers('{}'), info(2))).toThrow(/not a JSON array/);
    expect(() => decodeFrame(withMarkers('[{"time":"1","value":"a","duration":0}]'), info(2))).toThrow(/marker 0 has no finite "time"/);
    expect(() => decodeFrame(withMarkers('[{"time":1,"value":2,"duration":0}]'), info(2))).toThrow(/marker 0 has no string "value"/);
    expect(() => decodeFrame(withMarkers('[{"time":1,"value":"a","duration":-1}]'), info(2))).toThrow(/marker 0 has no finite "duration"/);
    expect(decodeFrame(withMarkers('[{"time":1,"value":"a","duration":0}]'), info(2)).markers).toEqual([{ time: 1, value: 'a', duration: 0 }]);
    expect(() => decodeFrame(encodeFrame(chunk(64, 100), 0), info(64), 1000)).toThrow(/larger than the 1000-byte limit/);
  });

  it('stream names are single subject tokens', () => {
    expect(checkStreamName('lab-1_eeg')).toBe('lab-1_eeg');
    for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'x'.repeat(65)]) expect(() => checkStreamName(bad)).toThrow(/one NATS subject token/);
  });

  it(
    'fuzz: mutated frames decode or fail with a clean Error',
    () => {
      const frames = [encodeFrame(chunk(4, 8, { markers: 2, timestamps: true }), 5), encodeFrame(chunk(3, 5), 7)];
      fc.assert(
        fc.property(fc.constantFrom(0, 1), fc.constantFrom(...frames).chain(mutatedBytes), (k, bytes) => {
          try {
            const f = decodeFrame(bytes, info(k === 0 ? 4 : 3));
            expect(f.data.length).toBe(f.samples * (k === 0 ? 4 : 3));
            expect(Number.isFinite(f.time)).toBe(true);
          } catch (e) {
            if (!isCleanError(e)) throw e;
          }
        }),
        fuzzParams(2000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
