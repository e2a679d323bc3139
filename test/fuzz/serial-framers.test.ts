import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CytonFramer } from '../../devices/serial/cyton-framer.js';
import { encodePacket, PACKET_BYTES, START_BYTE } from '../../devices/serial/cyton-protocol.js';
import { AsciiDecoder, asciiProtocolSchema, BinaryDecoder, binaryProtocolSchema, encodeBinaryFrame, MAX_LINE, type BinaryProtocol } from '../../devices/serial/generic-protocol.js';
import { PacketCounter, STALE_WINDOW } from '../../devices/serial/packet-counter.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, isCleanError, mutatedBytes, splitBytes } from '../helpers/fuzz.js';

/**
 * Properties of the serial framers (Cyton packets, generic binary frames, ASCII lines) on random
 * and mutated byte streams cut at random places: never an unclean throw, never more than one
 * frame kept, the same result however the bytes were split, and every valid frame found again
 * among garbage that cannot start one.
 */

const sizes = fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: 12 });

interface Framed<T> {
  items: T[];
  garbage: number;
  maxBuffered: number;
}

function runCyton(pieces: Buffer[]): Framed<string> {
  const f = new CytonFramer();
  const items: string[] = [];
  let maxBuffered = 0;
  for (const p of pieces) {
    f.push(p, (pk) => items.push(`${pk.counter}:${Array.from(pk.counts).join(',')}:${pk.stop}`));
    maxBuffered = Math.max(maxBuffered, f.buffered);
  }
  return { items, garbage: f.garbageBytes, maxBuffered };
}

const cytonPacket = fc.record({
  counter: fc.integer({ min: 0, max: 255 }),
  counts: fc.array(fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }), { minLength: 8, maxLength: 8 }),
  stop: fc.integer({ min: 0xc0, max: 0xc6 }),
});
/** Garbage that cannot start a packet: no start byte. */
const noStart = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => b.map((x) => (x === START_BYTE ? 0x20 : x)));

describe('fuzz: Cyton framer', () => {
  it(
    'random bytes at random cuts: no throw, at most one packet (and the byte after it) kept, cuts change nothing',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), sizes, (bytes, cut) => {
          const whole = runCyton([Buffer.from(bytes)]);
          const pieces = runCyton(splitBytes(bytes, cut));
          expect(pieces.maxBuffered).toBeLessThanOrEqual(PACKET_BYTES);
          expect(pieces.items).toEqual(whole.items);
          expect(pieces.garbage).toBe(whole.garbage);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'runs of two or more packets between garbage without start bytes: every packet found, every garbage byte counted',
    () => {
      const run = fc.array(cytonPacket, { minLength: 2, maxLength: 5 });
      fc.assert(
        fc.property(fc.array(fc.tuple(noStart, run), { minLength: 1, maxLength: 6 }), sizes, (blocks, cut) => {
          const wanted: string[] = [];
          const parts: Uint8Array[] = [];
          let garbage = 0;
          for (const [junk, packets] of blocks) {
            parts.push(junk);
            garbage += junk.length;
            for (const p of packets) {
              parts.push(encodePacket(p.counter, p.counts, [0, 0, 0, 0, 0, 0], p.stop));
              wanted.push(`${p.counter}:${p.counts.join(',')}:${p.stop}`);
            }
          }
          const got = runCyton(splitBytes(Buffer.concat(parts), cut));
          expect(got.items).toEqual(wanted);
          expect(got.garbage).toBe(garbage);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'packets, cut-off packets and stray bytes at random cuts: cuts change nothing',
    () => {
      const token = fc.oneof(
        cytonPacket.map((p) => encodePacket(p.counter, p.counts, [0, 0, 0, 0, 0, 0], p.stop)),
        fc.tuple(cytonPacket, fc.integer({ min: 1, max: PACKET_BYTES - 1 })).map(([p, n]) => encodePacket(p.counter, p.counts, [0, 0, 0, 0, 0, 0], p.stop).subarray(0, n)),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
      );
      fc.assert(
        fc.property(fc.array(token, { maxLength: 30 }), sizes, (tokens, cut) => {
          const bytes = Buffer.concat(tokens);
          const whole = runCyton([bytes]);
          expect(runCyton(splitBytes(bytes, cut))).toMatchObject({ items: whole.items, garbage: whole.garbage });
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (fuzz): out of sync, a packet at the end of a read waits for the next byte before it is taken', () => {
    // garbage, then a packet whose following byte is no start byte: not a packet, however it arrives
    const bytes = Buffer.concat([Buffer.from([1]), encodePacket(3, [1, 2, 3]), Buffer.from([7]), encodePacket(4, [4]), encodePacket(5, [5])]);
    const whole = runCyton([bytes]);
    expect(whole.items.map((i) => i.split(':')[0])).toEqual(['4', '5']);
    expect(whole.garbage).toBe(1 + PACKET_BYTES + 1);
    expect(runCyton([bytes.subarray(0, 1 + PACKET_BYTES), bytes.subarray(1 + PACKET_BYTES)])).toMatchObject({ items: whole.items, garbage: whole.garbage });
  });

  it(
    'mutated packet streams: no throw, bounded, cuts change nothing',
    () => {
      const valid = Buffer.concat(Array.from({ length: 12 }, (_, k) => encodePacket(k, [k, -k, 3 * k, 0xa0a0a0, -1, 2, 0xc0c0c0, k << 8])));
      fc.assert(
        fc.property(mutatedBytes(valid), sizes, (bytes, cut) => {
          const whole = runCyton([Buffer.from(bytes)]);
          const pieces = runCyton(splitBytes(bytes, cut));
          expect(pieces.maxBuffered).toBeLessThanOrEqual(PACKET_BYTES);
          expect(pieces).toMatchObject({ items: whole.items, garbage: whole.garbage });
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

const binaryConfig = fc
  .record({
    header: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }),
    counter: fc.constantFrom(undefined, { bytes: 1 as const }, { bytes: 2 as const }),
    sampleType: fc.constantFrom('int16' as const, 'uint16' as const, 'int24' as const, 'int32' as const, 'float32' as const),
    endian: fc.constantFrom('little' as const, 'big' as const),
    checksum: fc.constantFrom('none' as const, 'xor' as const, 'sum8' as const),
    channels: fc.integer({ min: 1, max: 4 }),
  })
  .map((c) =>
    binaryProtocolSchema.parse({
      format: 'binary',
      rate: 250,
      header: c.header,
      sampleType: c.sampleType,
      endian: c.endian,
      checksum: c.checksum,
      ...(c.counter ? { counter: c.counter } : {}),
      channels: Array.from({ length: c.channels }, (_, k) => ({ label: `C${k}` })),
    }),
  );

function rawValue(p: BinaryProtocol, seed: number): number {
  const ranges = { int16: [-32768, 32767], uint16: [0, 65535], int24: [-(2 ** 23), 2 ** 23 - 1], int32: [-(2 ** 31), 2 ** 31 - 1], float32: [-1000, 1000] } as const;
  const [lo, hi] = ranges[p.sampleType];
  return lo + (Math.abs(seed) % (hi - lo + 1));
}

function runBinary(p: BinaryProtocol, pieces: Buffer[]): Framed<string> {
  const d = new BinaryDecoder(p);
  const items: string[] = [];
  let maxBuffered = 0;
  for (const piece of pieces) {
    d.push(piece, (v, c) => items.push(`${c}:${Array.from(v).join(',')}`));
    maxBuffered = Math.max(maxBuffered, d.buffered);
  }
  return { items, garbage: d.garbageBytes, maxBuffered };
}

describe('fuzz: generic binary frames', () => {
  it(
    'any config, random bytes at random cuts: no throw, less than a frame kept, cuts change nothing',
    () => {
      fc.assert(
        fc.property(binaryConfig, fc.uint8Array({ maxLength: 1500 }), sizes, (p, bytes, cut) => {
          const frame = encodeBinaryFrame(
            p,
            p.channels.map(() => 0),
          ).length;
          const whole = runBinary(p, [Buffer.from(bytes)]);
          const pieces = runBinary(p, splitBytes(bytes, cut));
          expect(pieces.maxBuffered).toBeLessThan(frame);
          expect(pieces).toMatchObject({ items: whole.items, garbage: whole.garbage });
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'frames between garbage that cannot start a header: every frame found, every garbage byte counted',
    () => {
      const body = fc.array(fc.tuple(fc.uint8Array({ maxLength: 30 }), fc.array(fc.integer(), { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 8 });
      fc.assert(
        fc.property(binaryConfig, body, sizes, (p, blocks, cut) => {
          const wanted: string[] = [];
          const parts: Buffer[] = [];
          let garbage = 0;
          let k = 0;
          for (const [junk, seeds] of blocks) {
            const clean = junk.map((x) => (x === p.header[0] ? (x + 1) & 0xff : x));
            parts.push(Buffer.from(clean));
            garbage += clean.length;
            for (const seed of seeds) {
              const raw = p.channels.map((_, c) => rawValue(p, seed + c * 7919));
              const counter = k++ % (p.counter ? 2 ** (8 * p.counter.bytes) : 1);
              parts.push(encodeBinaryFrame(p, raw, counter));
              const values = raw.map((v) => (p.sampleType === 'float32' ? Math.fround(v) : v));
              wanted.push(`${p.counter ? counter : undefined}:${Array.from(Float32Array.from(values)).join(',')}`);
            }
          }
          expect(runBinary(p, splitBytes(Buffer.concat(parts), cut))).toMatchObject({ items: wanted, garbage });
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('fuzz: ASCII lines', () => {
  const ascii = asciiProtocolSchema.parse({
    format: 'ascii',
    rate: 100,
    separator: ',',
    channels: [
      { label: 'A', column: 0 },
      { label: 'B', column: 2, scale: 0.5 },
    ],
  });
  const run = (pieces: Buffer[]): Framed<string> => {
    const d = new AsciiDecoder(ascii);
    const items: string[] = [];
    let maxBuffered = 0;
    for (const p of pieces) {
      d.push(p, (v) => items.push(Array.from(v).join(',')));
      maxBuffered = Math.max(maxBuffered, d.buffered);
    }
    return { items, garbage: d.garbageBytes, maxBuffered };
  };
  const text = fc.array(
    fc.oneof(
      fc.tuple(fc.integer(), fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true })).map(([a, b, c]) => `${a},${b.replace(/[\n,]/g, '')},${c}\n`),
      fc.string({ maxLength: 60 }),
      fc.constant('\r\n'),
      fc.constant('#comment\n'),
      fc.constant('9'.repeat(MAX_LINE - 2)),
    ),
    { maxLength: 40 },
  );
  it(
    'random text at random cuts: no throw, at most one line kept, cuts change nothing',
    () => {
      fc.assert(
        fc.property(text, sizes, (parts, cut) => {
          const bytes = Buffer.from(parts.join(''), 'latin1');
          const whole = run([bytes]);
          const pieces = run(splitBytes(bytes, cut));
          expect(pieces.maxBuffered).toBeLessThanOrEqual(MAX_LINE);
          expect(pieces).toMatchObject({ items: whole.items, garbage: whole.garbage });
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('fuzz: packet counters', () => {
  it(
    'counts exactly the packets skipped and the packets repeated, across wraps',
    () => {
      const event = fc.oneof(
        fc.record({ kind: fc.constant('next' as const), skip: fc.integer({ min: 0, max: 200 }) }),
        fc.record({ kind: fc.constant('repeat' as const), back: fc.integer({ min: 0, max: STALE_WINDOW }) }),
      );
      fc.assert(
        fc.property(fc.constantFrom(256, 65536), fc.integer({ min: 0, max: 65535 }), fc.array(event, { maxLength: 100 }), (modulo, start, events) => {
          const c = new PacketCounter(modulo);
          let k = start % modulo;
          c.next(k);
          let lost = 0;
          let duplicates = 0;
          let wantLost = 0;
          let wantDuplicates = 0;
          for (const e of events) {
            if (e.kind === 'next') {
              k = (k + e.skip + 1) % modulo;
              wantLost += e.skip;
            } else wantDuplicates++;
            const v = c.next(e.kind === 'next' ? k : (k - e.back + modulo) % modulo);
            if (v.kind === 'duplicate') duplicates++;
            else lost += v.lost;
          }
          expect([lost, duplicates]).toEqual([wantLost, wantDuplicates]);
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'rejects a counter outside its range with a clean error',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.integer(), fc.double()), (x) => {
          try {
            new PacketCounter(256).next(x);
          } catch (e) {
            expect(isCleanError(e)).toBe(true);
          }
        }),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
