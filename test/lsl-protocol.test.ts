import { describe, expect, it } from 'vitest';
import { CHANNEL_FORMATS, testPattern, TEST_PATTERN_TIMESTAMP } from '../devices/lsl/channel-format.js';
import { DEDUCED_TIMESTAMP, encodeSamples, newValueArray, SampleDecoder, SampleFormatError } from '../devices/lsl/sample-codec.js';
import { channelsDescXml, channelsOf, infoToXml, matchesQuery, parseInfoXml, StreamInfoError, type LslStreamInfo } from '../devices/lsl/stream-info.js';
import { lslQueryOf } from '../devices/lsl/lsl-source.js';
import { archiveHeader, ArchiveFeedDecoder, encodeSamples100, PortableReader, PortableWriter } from '../devices/lsl/portable-archive.js';

// Byte layouts follow liblsl's src/sample.cpp (save_streambuf, assign_test_pattern) and
// src/stream_info_impl.cpp (write_xml, matches_query).

describe('LSL test-pattern samples (liblsl sample::assign_test_pattern)', () => {
  it('gives each format its pattern: alternating signs, per-format offsets', () => {
    expect(testPattern('float32', 3, 4)).toEqual([4, -5, 6]);
    expect(testPattern('double64', 2, 2)).toEqual([16777219, -16777220]);
    expect(testPattern('int32', 2, 4)).toEqual([65541, -65542]);
    expect(testPattern('int16', 2, 4)).toEqual([261, -262]);
    expect(testPattern('int8', 3, 2)).toEqual([3, -4, 5]);
    expect(testPattern('int64', 2, 4)).toEqual([2147483653n, -2147483654n]);
    expect(testPattern('string', 3, 4)).toEqual(['10', '-11', '12']);
    // integers wrap at the type's maximum, as liblsl's `val %= max`
    expect(testPattern('int8', 130, 4)[125]).toBe(-((125 + 4 + 1) % 127));
  });
});

describe('LSL 1.10 sample encoding (liblsl sample::save_streambuf)', () => {
  it('writes tag 2 + float64 timestamp + little-endian values, tag 1 alone for deduced stamps', () => {
    const values = Float32Array.from([1.5, -2]);
    const bytes = encodeSamples('float32', 1, values, [TEST_PATTERN_TIMESTAMP, DEDUCED_TIMESTAMP], 0, 2);
    const ts = Buffer.alloc(8);
    ts.writeDoubleLE(123456.789);
    const v1 = Buffer.alloc(4);
    v1.writeFloatLE(1.5);
    const v2 = Buffer.alloc(4);
    v2.writeFloatLE(-2);
    expect(bytes).toEqual(Buffer.concat([Buffer.from([2]), ts, v1, Buffer.from([1]), v2]));
  });

  it('writes strings with a length-size byte: 1 up to 255 bytes, 4 above', () => {
    const long = 'x'.repeat(300);
    const bytes = encodeSamples('string', 2, ['é', long], [DEDUCED_TIMESTAMP], 0, 1);
    expect([...bytes.subarray(0, 5)]).toEqual([1, 1, 2, 0xc3, 0xa9]);
    expect([...bytes.subarray(5, 10)]).toEqual([4, 0x2c, 0x01, 0, 0]);
    expect(bytes.length).toBe(10 + 300);
  });

  it('decodes every format back, byte by byte or all at once, deducing timestamps from the rate', () => {
    for (const format of CHANNEL_FORMATS) {
      const channels = 3;
      const n = 5;
      const values = newValueArray(format, n * channels);
      for (let i = 0; i < n * channels; i++) {
        const v = testPattern(format, n * channels, 7)[i];
        (values as unknown as unknown[])[i] = v;
      }
      const stamps = [10, DEDUCED_TIMESTAMP, DEDUCED_TIMESTAMP, 20, DEDUCED_TIMESTAMP];
      const bytes = encodeSamples(format, channels, values, stamps, 0, n);
      const whole = new SampleDecoder(format, channels, 100).push(bytes);
      const one = new SampleDecoder(format, channels, 100);
      const pieces = [];
      for (let i = 0; i < bytes.length; i++) pieces.push(...one.push(bytes.subarray(i, i + 1)));
      for (const batches of [whole, pieces]) {
        const got = batches.flatMap((b) => Array.from(b.values as ArrayLike<unknown>));
        expect(got, format).toEqual(Array.from(values as ArrayLike<unknown>));
        const ts = batches.flatMap((b) => Array.from(b.timestamps));
        expect(ts[0]).toBe(10);
        expect(ts[1]).toBeCloseTo(10.01, 12);
        expect(ts[2]).toBeCloseTo(10.02, 12);
        expect(ts[3]).toBe(20);
        expect(ts[4]).toBeCloseTo(20.01, 12);
      }
    }
  });

  it('rejects a bad tag or length byte naming its offset in the feed', () => {
    const good = encodeSamples('int16', 2, Int16Array.from([1, 2, 3, 4]), [1, 2], 0, 2);
    const bad = Buffer.from(good);
    bad[13] = 7; // tag of the second sample: 1 + 8 + 4 = 13
    expect(() => new SampleDecoder('int16', 2, 0, 1024, 100).push(bad)).toThrow(SampleFormatError);
    expect(() => new SampleDecoder('int16', 2, 0, 1024, 100).push(bad)).toThrow(/byte 113 is 0x07, expected a sample tag/);
    const str = encodeSamples('string', 1, ['ab'], [1], 0, 1);
    str[9] = 3;
    expect(() => new SampleDecoder('string', 1, 0).push(str)).toThrow(/byte 9 gives a string length size of 3/);
  });

  it('keeps an incomplete sample until its last byte arrives', () => {
    const bytes = encodeSamples('double64', 2, Float64Array.from([1, 2]), [5], 0, 1);
    const d = new SampleDecoder('double64', 2, 0);
    expect(d.push(bytes.subarray(0, bytes.length - 1))).toEqual([]);
    expect(d.buffered).toBe(bytes.length - 1);
    const [b] = d.push(bytes.subarray(bytes.length - 1));
    expect(Array.from(b.values as Float64Array)).toEqual([1, 2]);
  });
});

const info: LslStreamInfo = {
  name: 'Amp & co',
  type: 'EEG',
  channelCount: 16,
  channelFormat: 'float32',
  sourceId: 'amp-1',
  nominalSrate: 250,
  version: 110,
  createdAt: 1234.5,
  uid: 'u-1',
  sessionId: 'default',
  hostname: 'lab',
  v4address: '',
  v4dataPort: 16572,
  v4servicePort: 16573,
  v6address: '',
  v6dataPort: 0,
  v6servicePort: 0,
  descXml: channelsDescXml([
    { label: 'C3', unit: 'microvolts', type: 'EEG' },
    { label: 'C4', unit: 'microvolts', type: 'EEG' },
  ]),
};

describe('LSL stream info XML (liblsl stream_info_impl)', () => {
  it('writes the fields as liblsl does (16 significant digits) and reads them back with the desc tree', () => {
    const xml = infoToXml(info);
    expect(xml.startsWith('<?xml version="1.0"?>\n<info>\n\t<name>Amp &amp; co</name>\n\t<type>EEG</type>\n\t<channel_count>16</channel_count>')).toBe(true);
    expect(xml).toContain('<nominal_srate>250.0000000000000</nominal_srate>');
    expect(xml).toContain('<version>1.100000000000000</version>');
    expect(xml).toContain('<v4address></v4address>');
    const { info: back, doc } = parseInfoXml(xml);
    expect({ ...back, descXml: '' }).toEqual({ ...info, descXml: '' });
    expect(channelsOf(doc)).toEqual([
      { label: 'C3', unit: 'microvolts', type: 'EEG' },
      { label: 'C4', unit: 'microvolts', type: 'EEG' },
    ]);
    expect(infoToXml(info, false)).toContain('<desc />');
  });

  it('regression (review): an info claiming 2^31-1 channels is refused by its field before anything is built for them', () => {
    const xml = infoToXml({ ...info, channelCount: 2 ** 31 - 1 }, false);
    expect(() => parseInfoXml(xml)).toThrow(/channel_count/);
    expect(parseInfoXml(infoToXml({ ...info, channelCount: 65_536 }, false)).info.channelCount).toBe(65_536);
  });

  it('matches XPath queries as pugixml would', () => {
    const { doc } = parseInfoXml(infoToXml(info));
    expect(matchesQuery(doc, "type='EEG' and channel_count>8")).toBe(true);
    expect(matchesQuery(doc, "type='EEG' and channel_count>16")).toBe(false);
    expect(matchesQuery(doc, "session_id='default' and source_id='amp-1'")).toBe(true);
    expect(matchesQuery(doc, "starts-with(name,'Amp')")).toBe(true);
    expect(matchesQuery(doc, 'nominal_srate=250')).toBe(true);
    expect(matchesQuery(doc, "type='EEG' and (")).toBe(false); // invalid: matches nothing
    expect(matchesQuery(doc, '')).toBe(true);
  });

  it('builds queries from source URI targets', () => {
    expect(lslQueryOf('type=EEG')).toBe("session_id='default' and type='EEG'");
    expect(lslQueryOf('source_id=amp-1')).toBe("session_id='default' and source_id='amp-1'");
    expect(lslQueryOf("type='EEG' and channel_count>8")).toBe("session_id='default' and type='EEG' and channel_count>8");
  });

  it('names the field at fault in a bad info document', () => {
    const bad = infoToXml(info).replace('<channel_format>float32</channel_format>', '<channel_format>float16</channel_format>');
    expect(() => parseInfoXml(bad, 'answer from 10.0.0.2')).toThrow(StreamInfoError);
    expect(() => parseInfoXml(bad, 'answer from 10.0.0.2')).toThrow('answer from 10.0.0.2: <channel_format> "float16" is not one of');
    expect(() => parseInfoXml(infoToXml(info).replace('<v4data_port>16572', '<v4data_port>99999'))).toThrow('<v4data_port> must be an integer >= 0 and <= 65535, found "99999"');
    expect(() => parseInfoXml('<info><name>x</name')).toThrow(/not an LSL <info> document/);
  });
});

describe('LSL 1.00 portable archive (liblsl portable_oarchive / portable_iarchive)', () => {
  const bytes = (f: (w: PortableWriter) => PortableWriter): number[] => [...f(new PortableWriter()).done()];
  it('encodes integers as a signed size byte plus the low bytes, zero as one 0 byte', () => {
    expect(bytes((w) => w.int(0, 4))).toEqual([0]);
    expect(bytes((w) => w.int(5, 4))).toEqual([1, 5]);
    expect(bytes((w) => w.int(-5, 4))).toEqual([0xff, 0xfb]);
    expect(bytes((w) => w.int(300, 2))).toEqual([2, 0x2c, 0x01]);
    expect(bytes((w) => w.int(-129, 2))).toEqual([0xff, 0x7f]);
    expect(bytes((w) => w.int(-3, 1))).toEqual([0xff, 0xfd]); // one-byte types always size 1
    expect(bytes((w) => w.int(2, 1))).toEqual([1, 2]); // a sample tag
    expect(bytes((w) => w.float32(1.5))).toEqual([4, 0x00, 0x00, 0xc0, 0x3f]); // IEEE bits 0x3fc00000
    expect(bytes((w) => w.string('ab'))).toEqual([1, 2, 0x61, 0x62]);
    expect([...archiveHeader('x')]).toEqual([0x7f, 1, 9, 1, 1, 0x78]);
  });

  it('reads back what it writes, for every width and sign', () => {
    for (const [v, width] of [
      [0, 4],
      [1, 1],
      [-1, 1],
      [127, 1],
      [-128, 1],
      [32767, 2],
      [-32768, 2],
      [2147483647, 4],
      [-2147483648, 4],
      [123456789, 4],
    ] as const) {
      expect(new PortableReader(new PortableWriter().int(v, width).done()).int(width), `${v}`).toBe(v);
    }
    for (const v of [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2147483653n]) {
      expect(new PortableReader(new PortableWriter().int(v, 8).done()).bigint(8, true)).toBe(v);
    }
    for (const v of [0, -0.5, 1e-300, 123456.789, -Infinity]) expect(new PortableReader(new PortableWriter().float64(v).done()).float64()).toBe(v);
  });

  it('decodes a 1.00 feed of every format split at every byte, after header and test patterns', () => {
    for (const format of CHANNEL_FORMATS) {
      const channels = 2;
      const values = testPattern(format, 3 * channels, 9);
      const feed = Buffer.concat([
        archiveHeader('<info/>'),
        encodeSamples100(format, channels, testPattern(format, channels, 4) as never, [TEST_PATTERN_TIMESTAMP], 1, true),
        encodeSamples100(format, channels, testPattern(format, channels, 2) as never, [TEST_PATTERN_TIMESTAMP], 1, false),
        encodeSamples100(format, channels, values as never, [7, DEDUCED_TIMESTAMP, 9], 3, false),
      ]);
      const d = new ArchiveFeedDecoder(format, channels, 10);
      const got: unknown[] = [];
      const ts: number[] = [];
      let header = false;
      let patterns = false;
      for (let i = 0; i < feed.length; i++) {
        d.append(feed.subarray(i, i + 1));
        if (!header) {
          header = d.readHeader();
          if (!header) continue;
          expect(d.shortinfo).toBe('<info/>');
        }
        if (!patterns) {
          const p = d.take(2);
          if (!p) continue;
          patterns = true;
          expect(Array.from(p.values as ArrayLike<unknown>)).toEqual([...testPattern(format, channels, 4), ...testPattern(format, channels, 2)]);
          d.resetTimestamps();
        }
        for (const b of d.drain()) {
          got.push(...Array.from(b.values as ArrayLike<unknown>));
          ts.push(...b.timestamps);
        }
      }
      expect(got, format).toEqual(values.map((v) => (format === 'float32' ? Math.fround(v as number) : v)));
      expect(ts[0]).toBe(7);
      expect(ts[1]).toBeCloseTo(7.1, 12);
      expect(ts[2]).toBe(9);
    }
  });

  it('names the byte of a bad magic or tag', () => {
    const d = new ArchiveFeedDecoder('float32', 1, 0);
    d.append(Buffer.from([0x16, 1, 9]));
    expect(() => d.readHeader()).toThrow('LSL 1.00 feed: byte 0 is 0x16, expected the archive magic 0x7f');
    const e = new ArchiveFeedDecoder('float32', 1, 0);
    e.append(Buffer.concat([archiveHeader(''), Buffer.from([0, 0, 1, 3])]));
    expect(e.readHeader()).toBe(true);
    expect(() => e.take(1)).toThrow('LSL 1.00 feed: byte 6 holds sample tag 3, expected 1 or 2');
  });
});
