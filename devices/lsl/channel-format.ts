/**
 * LSL channel formats and the two "test pattern" samples that every streamfeed starts with.
 * Reference: liblsl src/sample.cpp (`assign_test_pattern`, `test_pattern`) and
 * src/stream_info_impl.cpp (format names and sizes).
 */
export type ChannelFormat = 'float32' | 'double64' | 'string' | 'int32' | 'int16' | 'int8' | 'int64';

export const CHANNEL_FORMATS: readonly ChannelFormat[] = ['float32', 'double64', 'string', 'int32', 'int16', 'int8', 'int64'];

/** Bytes per value on the wire (0 for strings, which carry their own lengths). */
export const FORMAT_BYTES: Record<ChannelFormat, number> = {
  float32: 4,
  double64: 8,
  string: 0,
  int32: 4,
  int16: 2,
  int8: 1,
  int64: 8,
};

export function isChannelFormat(s: string): s is ChannelFormat {
  return (CHANNEL_FORMATS as readonly string[]).includes(s);
}

/** One sample's values: numbers for numeric formats (int64 as bigint), strings for string streams. */
export type SampleValues = number[] | bigint[] | string[];

const INT_MAX: Partial<Record<ChannelFormat, number>> = { int8: 127, int16: 32767, int32: 2147483647 };

/**
 * The test-pattern sample liblsl sends (twice, with offsets 4 and 2) right after the streamfeed
 * header, so that both ends can check that they agree on the format. Timestamp 123456.789.
 */
export function testPattern(format: ChannelFormat, channels: number, offset: number): SampleValues {
  switch (format) {
    case 'string':
      return Array.from({ length: channels }, (_, k) => String((k + 10) * (k % 2 === 0 ? 1 : -1)));
    case 'int64':
      return Array.from({ length: channels }, (_, k) => {
        const v = 2147483649n + BigInt(offset) + BigInt(k);
        return k % 2 === 1 ? -v : v;
      });
    default: {
      const base = { float32: 0, double64: 16777217, int32: 65537, int16: 257, int8: 1 }[format];
      const max = INT_MAX[format];
      return Array.from({ length: channels }, (_, k) => {
        let v = k + offset + base;
        if (max !== undefined) v %= max;
        return k % 2 === 0 ? v : -v;
      });
    }
  }
}

export const TEST_PATTERN_TIMESTAMP = 123456.789;
