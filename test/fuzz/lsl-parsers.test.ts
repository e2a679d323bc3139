import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANNEL_FORMATS, testPattern, TEST_PATTERN_TIMESTAMP, type ChannelFormat } from '../../devices/lsl/channel-format.js';
import { checkFeedHeader } from '../../devices/lsl/inlet.js';
import { parseFeedRequest } from '../../devices/lsl/outlet-feed.js';
import { parseUdpRequest } from '../../devices/lsl/outlet-udp.js';
import { archiveHeader, ArchiveFeedDecoder, encodeSamples100 } from '../../devices/lsl/portable-archive.js';
import { parseResolverReply } from '../../devices/lsl/resolver.js';
import { DEDUCED_TIMESTAMP, encodeSamples, MAX_SAMPLE_BYTES, newValueArray, SampleDecoder, type SampleBatch, type SampleFormatError, type ValueArray } from '../../devices/lsl/sample-codec.js';
import { channelsDescXml, infoToXml, matchesQuery, parseInfoXml, type LslStreamInfo } from '../../devices/lsl/stream-info.js';
import { parseTimeReply } from '../../devices/lsl/time-sync.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, isCleanError, mutatedBytes, splitBytes } from '../helpers/fuzz.js';
import { like } from '../helpers/like.js';

/**
 * Properties of the LSL message parsers on random and mutated input: samples (1.10 and 1.00
 * feeds) cut at random places, stream-info XML, resolver and time replies, the outlet's request
 * parser and the inlet's feed-header check. Each returns a well-formed result or throws a clean
 * Error; the feed decoders give the same samples (and the same error) however the bytes were split
 * and never keep more than one sample's bytes.
 */

const sizes = fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 12 });

/** Runs `step` on each piece; the flattened samples and the error (if any) it ended with. */
function decodeAll(pieces: Buffer[], step: (piece: Buffer) => SampleBatch[]): { values: unknown[]; stamps: number[]; error?: string } {
  const values: unknown[] = [];
  const stamps: number[] = [];
  try {
    for (const p of pieces) {
      for (const b of step(p)) {
        values.push(...Array.from(b.values as ArrayLike<unknown>));
        stamps.push(...b.timestamps);
      }
    }
  } catch (e) {
    expect(isCleanError(e), String(e)).toBe(true);
    for (const b of (e as SampleFormatError).decoded ?? []) {
      values.push(...Array.from(b.values as ArrayLike<unknown>));
      stamps.push(...b.timestamps);
    }
    return { values, stamps, error: (e as Error).message };
  }
  return { values, stamps };
}

const formatAndChannels = fc.tuple(fc.constantFrom(...CHANNEL_FORMATS), fc.integer({ min: 1, max: 5 }));

function sampleValues(format: ChannelFormat, n: number, seed: number): ValueArray {
  const v = newValueArray(format, n);
  const pattern = testPattern(format, n, seed % 100);
  for (let i = 0; i < n; i++) (v as unknown as unknown[])[i] = pattern[i];
  return v;
}

const stamps = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (i % 3 === 1 ? DEDUCED_TIMESTAMP : 1000 + seed + i / 7));

describe('fuzz: LSL 1.10 sample feed', () => {
  it(
    'valid and mutated feeds at random cuts: the same samples and the same error either way, at most a sample kept',
    () => {
      const feed = fc.tuple(formatAndChannels, fc.integer({ min: 1, max: 12 }), fc.nat()).chain(([[format, channels], n, seed]) => {
        const valid = encodeSamples(format, channels, sampleValues(format, n * channels, seed), stamps(n, seed), 0, n);
        return fc.tuple(fc.constant({ format, channels }), fc.oneof(fc.constant(valid), mutatedBytes(valid)));
      });
      fc.assert(
        fc.property(feed, sizes, ([{ format, channels }, bytes], cut) => {
          const whole = decodeAll([Buffer.from(bytes)], (p) => new SampleDecoder(format, channels, 100, 4).push(p));
          const d = new SampleDecoder(format, channels, 100, 4);
          const pieces = decodeAll(splitBytes(bytes, cut), (p) => {
            const out = d.push(p);
            expect(d.buffered).toBeLessThanOrEqual(MAX_SAMPLE_BYTES + 9);
            return out;
          });
          expect(pieces).toEqual(whole);
        }),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random bytes: samples or a clean error naming the byte',
    () => {
      fc.assert(
        fc.property(formatAndChannels, fc.uint8Array({ maxLength: 400 }), ([format, channels], bytes) => {
          const r = decodeAll([Buffer.from(bytes)], (p) => new SampleDecoder(format, channels, 0).push(p));
          if (r.error) expect(r.error).toMatch(/^LSL feed: (byte \d+|the sample at byte \d+)/);
        }),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (fuzz): the samples before a corrupt byte come out with the error, whole or byte by byte', () => {
    const bytes = encodeSamples('int16', 2, Int16Array.of(1, 2, 3, 4, 5, 6), [10, 11, 12], 0, 3);
    bytes[2 * 13] = 9; // the third sample's tag
    const whole = decodeAll([bytes], (p) => new SampleDecoder('int16', 2, 0).push(p));
    const d = new SampleDecoder('int16', 2, 0);
    const bytewise = decodeAll(splitBytes(bytes, [1]), (p) => d.push(p));
    expect(whole).toEqual({ values: [1, 2, 3, 4], stamps: [10, 11], error: like.stringMatching(/^LSL feed: byte 26 is 0x09, expected a sample tag/) });
    expect(bytewise).toEqual(whole);
  });

  it('a string announcing 4 GiB is refused at once, not waited for', () => {
    const bytes = Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new SampleDecoder('string', 1, 0).push(bytes)).toThrow(/byte 9 announces a string of 4294967295 bytes/);
  });

  it('regression: a stream whose info declares 2^30 double channels is refused before any allocation', () => {
    const refusal = `LSL feed: 1073741824 channels of double64 make samples over ${MAX_SAMPLE_BYTES} bytes`;
    expect(() => new SampleDecoder('double64', 2 ** 30, 0)).toThrow(refusal);
    expect(() => new ArchiveFeedDecoder('double64', 2 ** 30, 0)).toThrow(refusal);
  });
});

describe('fuzz: LSL 1.00 portable-archive feed', () => {
  it('regression (fuzz): the samples before a bad tag come out with the error, not lost with it', () => {
    const feed = Buffer.concat([archiveHeader('<info/>'), encodeSamples100('float32', 1, Float32Array.of(1, 2, 3), [7, 8, 9], 3, true)]);
    const at = feed.length - 2 - 9 - 5; // the third sample: tag (1, 2), timestamp (8, 8 bytes), value (4, 4 bytes)
    expect([...feed.subarray(at, at + 2)]).toEqual([1, 2]);
    feed[at + 1] = 0;
    const d = new ArchiveFeedDecoder('float32', 1, 0);
    d.append(feed);
    expect(d.readHeader()).toBe(true);
    const r = decodeAll([Buffer.alloc(0)], () => d.drain());
    expect(r).toEqual({ values: [1, 2], stamps: [7, 8], error: `LSL 1.00 feed: byte ${at} holds sample tag 0, expected 1 or 2` });
  });

  it(
    'valid and mutated archives at random cuts: the same samples and the same error either way',
    () => {
      const feed = fc.tuple(formatAndChannels, fc.integer({ min: 1, max: 8 }), fc.nat()).chain(([[format, channels], n, seed]) => {
        const valid = Buffer.concat([
          archiveHeader('<info/>'),
          encodeSamples100(format, channels, sampleValues(format, channels, 4), [TEST_PATTERN_TIMESTAMP], 1, true),
          encodeSamples100(format, channels, sampleValues(format, n * channels, seed), stamps(n, seed), n, false),
        ]);
        return fc.tuple(fc.constant({ format, channels }), fc.oneof(fc.constant(valid), mutatedBytes(valid)));
      });
      const decoder = (format: ChannelFormat, channels: number): ((p: Buffer) => SampleBatch[]) => {
        const d = new ArchiveFeedDecoder(format, channels, 100, 3);
        return (p) => {
          d.append(p);
          return d.readHeader() ? d.drain() : [];
        };
      };
      fc.assert(
        fc.property(feed, sizes, ([{ format, channels }, bytes], cut) => {
          expect(decodeAll(splitBytes(bytes, cut), decoder(format, channels))).toEqual(decodeAll([Buffer.from(bytes)], decoder(format, channels)));
        }),
        fuzzParams(400),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

const info: LslStreamInfo = {
  name: 'Amp',
  type: 'EEG',
  channelCount: 4,
  channelFormat: 'float32',
  sourceId: 'amp-1',
  nominalSrate: 250,
  version: 110,
  createdAt: 12.5,
  uid: 'u-1',
  sessionId: 'default',
  hostname: 'lab',
  v4address: '',
  v4dataPort: 16572,
  v4servicePort: 16573,
  v6address: '',
  v6dataPort: 0,
  v6servicePort: 0,
  descXml: channelsDescXml([{ label: 'C3', unit: 'microvolts', type: 'EEG' }]),
};
const xml = Buffer.from(infoToXml(info), 'utf8');

describe('fuzz: LSL stream info and discovery messages', () => {
  it(
    'mutated info XML: a well-formed info or a clean error naming what is wrong',
    () => {
      fc.assert(
        fc.property(mutatedBytes(xml), (bytes) => {
          try {
            const { info: got } = parseInfoXml(Buffer.from(bytes).toString('utf8'));
            expect(got.name).not.toBe('');
            expect(Number.isInteger(got.channelCount) && got.channelCount >= 0).toBe(true);
            expect(CHANNEL_FORMATS).toContain(got.channelFormat);
          } catch (e) {
            expect(isCleanError(e), String(e)).toBe(true);
          }
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "resolver replies: ours, another query's, or a clean error",
    () => {
      const reply = Buffer.concat([Buffer.from('42\r\n'), xml]);
      fc.assert(
        fc.property(fc.oneof(mutatedBytes(reply), fc.uint8Array({ maxLength: 200 })), (bytes) => {
          try {
            const got = parseResolverReply(Buffer.from(bytes), '42', '10.0.0.9');
            if (got) expect(got.v4address).not.toBe('');
          } catch (e) {
            expect(isCleanError(e), String(e)).toBe(true);
          }
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'UDP requests and time replies: a request, nothing, or a clean error; estimates are finite',
    () => {
      const requests = ["LSL:shortinfo\r\nsession_id='default'\r\n16572 99\r\n", 'LSL:timedata\r\n7 123.5\r\n'].map((t) => Buffer.from(t));
      fc.assert(
        fc.property(fc.oneof(...requests.map(mutatedBytes), fc.uint8Array({ maxLength: 100 })), (bytes) => {
          try {
            const r = parseUdpRequest(Buffer.from(bytes));
            if (r?.kind === 'shortinfo') expect(r.port >= 1 && r.port <= 65535 && r.id !== '').toBe(true);
            if (r?.kind === 'timedata') expect(Number.isFinite(r.t0)).toBe(true);
          } catch (e) {
            expect(isCleanError(e), String(e)).toBe(true);
          }
          const t = parseTimeReply(Buffer.from(bytes), 7, 124);
          if (t) expect(Number.isFinite(t.correction) && Number.isFinite(t.rtt)).toBe(true);
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (fuzz): a query is evaluated as it is, it cannot close a boolean( ) around it', () => {
    const { doc } = parseInfoXml(infoToXml(info));
    expect(matchesQuery(doc, '.)*(.')).toBe(false); // was the number NaN
    expect(matchesQuery(doc, 'false()) or (true()')).toBe(false); // was true: matched every stream
    expect(matchesQuery(doc, "name='Amp'")).toBe(true);
    expect(matchesQuery(doc, 'channel_count')).toBe(true); // a non-empty node-set
    expect(matchesQuery(doc, 'channel_count - 4')).toBe(false); // the number 0
  });

  it(
    'XPath queries from anywhere: true or false, never a throw',
    () => {
      const { doc } = parseInfoXml(infoToXml(info));
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("type='EEG' and channel_count>2", 'name=', '((((', "starts-with(name,'A')")), (q) => {
          expect(typeof matchesQuery(doc, q)).toBe('boolean');
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('fuzz: LSL TCP handshakes', () => {
  it(
    'outlet side: any request text is incomplete, a well-formed request, or unknown; never a throw',
    () => {
      const requests = [
        'LSL:streamfeed/110 u-1\r\nNative-Byte-Order: 1234\r\nValue-Size: 4\r\nMax-Buffer-Length: 36000\r\n\r\n',
        'LSL:streamfeed\r\n36000 0\r\n',
        "LSL:shortinfo\r\nname='x'\r\n",
        'LSL:fullinfo\r\n',
      ].map((t) => Buffer.from(t, 'latin1'));
      fc.assert(
        fc.property(fc.oneof(...requests.map(mutatedBytes), fc.uint8Array({ maxLength: 200 })), (bytes) => {
          const r = parseFeedRequest(Buffer.from(bytes).toString('latin1'));
          if (r?.kind === 'feed100') expect(Number.isFinite(r.maxBuffered)).toBe(true);
          if (r?.kind === 'feed') expect(r.headers).toBeInstanceOf(Map);
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'inlet side: a mutated feed header is accepted or refused with a clean error',
    () => {
      const head = Buffer.from('LSL/110 200 OK\r\nUID: u-1\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: 110', 'latin1');
      const target = { ...info, v4address: '127.0.0.1' };
      fc.assert(
        fc.property(fc.oneof(mutatedBytes(head), fc.uint8Array({ maxLength: 120 })), (bytes) => {
          try {
            checkFeedHeader(Buffer.from(bytes).toString('latin1'), target, 110);
          } catch (e) {
            expect(isCleanError(e), String(e)).toBe(true);
          }
        }),
        fuzzParams(500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
