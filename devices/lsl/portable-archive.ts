import { FORMAT_BYTES, type ChannelFormat } from './channel-format.js';
import {
  checkSampleSize,
  checkUnfinished,
  decodeUntilDone,
  DEDUCED_TIMESTAMP,
  deducedTimestamp,
  MAX_SAMPLE_BYTES,
  newValueArray,
  SampleFormatError,
  TAG_DEDUCED,
  TAG_TRANSMITTED,
  type SampleBatch,
  type ValueArray,
} from './sample-codec.js';

/**
 * LSL data protocol 1.00: the feed is a "portable binary archive" (liblsl
 * src/portable_archive/portable_oarchive.hpp, portable_iarchive.hpp, slimarchive.hpp;
 * src/sample.cpp `serialize`; src/tcp_server.cpp):
 * - archive header: the magic byte 0x7f ('e'|'o'|'s'), then the archive version as an integer (9);
 * - integers: a signed size byte n, then |n| little-endian bytes; n < 0 means the value is negative
 *   (the bytes are the low bytes of its two's complement); n = 0 is the value 0; one-byte types
 *   always use n = 1;
 * - floats: their IEEE-754 bit pattern as an unsigned integer (uint32 / uint64);
 * - strings: their byte length as an integer, then the bytes;
 * - the feed: the outlet's shortinfo XML as a string, then samples; the first sample (only) is
 *   preceded by two raw zero bytes (a class-version marker). A sample is its tag as an integer
 *   (1 deduced, 2 timestamp follows), [the timestamp as a double], then each value.
 */
export const ARCHIVE_MAGIC = 0x7f;
export const ARCHIVE_VERSION = 9;

class NeedMore extends Error {}

export class PortableReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    /** Offset of buf[0] in the whole feed, for error messages. */
    readonly base = 0,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new NeedMore();
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  raw(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** An integer of at most `maxBytes` bytes, as a bigint. */
  bigint(maxBytes: number, signed: boolean): bigint {
    const at = this.pos;
    const size = (this.byte() << 24) >> 24;
    if (size === 0) return 0n;
    const n = Math.abs(size);
    if (n > maxBytes || (size < 0 && !signed)) {
      throw new SampleFormatError(`LSL 1.00 feed: byte ${this.base + at} gives an integer size of ${size}, expected 0..${signed ? '±' : ''}${maxBytes}`);
    }
    const bytes = this.raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
    if (size < 0) v -= 1n << BigInt(8 * n); // sign-extend: the missing high bytes are all ones
    return v;
  }

  int(maxBytes: number, signed = true): number {
    return Number(this.bigint(maxBytes, signed));
  }

  float32(): number {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(Number(this.bigint(4, false)));
    return b.readFloatLE(0);
  }

  float64(): number {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(this.bigint(8, false));
    return b.readDoubleLE(0);
  }

  string(limit = MAX_SAMPLE_BYTES): string {
    const at = this.pos;
    const len = this.int(8, false);
    if (len > limit) throw new SampleFormatError(`LSL 1.00 feed: byte ${this.base + at} announces a string of ${len} bytes (limit ${limit})`);
    return this.raw(len).toString('utf8');
  }
}

export class PortableWriter {
  private readonly parts: Buffer[] = [];

  bytes(b: Buffer | number[]): this {
    this.parts.push(Buffer.isBuffer(b) ? b : Buffer.from(b));
    return this;
  }

  /** An integer of a `width`-byte type (width 1 always writes one byte). */
  int(value: bigint | number, width: number): this {
    let v = BigInt(value);
    if (v === 0n) return this.bytes([0]);
    const negative = v < 0n;
    let size = 0;
    if (width === 1) size = 1;
    else {
      let t = v;
      do {
        t >>= 8n;
        size++;
      } while (t !== 0n && t !== -1n && size < width);
    }
    const out = [negative ? (256 - size) & 0xff : size];
    if (negative) v += 1n << BigInt(8 * width);
    for (let i = 0; i < size; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
    return this.bytes(out);
  }

  float32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return this.int(b.readUInt32LE(0), 4);
  }

  float64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return this.int(b.readBigUInt64LE(0), 8);
  }

  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.int(b.length, 8).bytes(b);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The archive header and the shortinfo that open a 1.00 feed. */
export function archiveHeader(shortinfo: string): Buffer {
  return new PortableWriter().bytes([ARCHIVE_MAGIC]).int(ARCHIVE_VERSION, 4).string(shortinfo).done();
}

/** Samples in 1.00 encoding; `first` adds the two-byte class marker before the first one. */
export function encodeSamples100(format: ChannelFormat, channels: number, values: ValueArray, timestamps: ArrayLike<number>, count: number, first: boolean): Buffer {
  const w = new PortableWriter();
  if (first) w.bytes([0, 0]);
  const width = FORMAT_BYTES[format];
  for (let i = 0; i < count; i++) {
    if (timestamps[i] === DEDUCED_TIMESTAMP) w.int(TAG_DEDUCED, 1);
    else w.int(TAG_TRANSMITTED, 1).float64(timestamps[i]);
    for (let c = 0; c < channels; c++) {
      const v = values[i * channels + c];
      if (format === 'string') w.string(String(v));
      else if (format === 'float32') w.float32(v as number);
      else if (format === 'double64') w.float64(v as number);
      else w.int(v as number | bigint, width);
    }
  }
  return w.done();
}

/** Incremental reader of a 1.00 feed (after the request): header, shortinfo, then samples. */
export class ArchiveFeedDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private headerDone = false;
  private firstSample = true;
  private lastTimestamp = 0;
  shortinfo: string | undefined;

  constructor(
    readonly format: ChannelFormat,
    readonly channels: number,
    readonly rate: number,
    readonly batchSize = 1024,
  ) {
    checkSampleSize(format, channels);
  }

  /** Bytes received but not yet decoded. */
  get buffered(): number {
    return this.pending.length;
  }

  append(bytes: Buffer): void {
    if (bytes.length > 0) this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
  }

  /** Reads the archive header and the shortinfo; false until they are complete. */
  readHeader(): boolean {
    if (this.headerDone) return true;
    const r = new PortableReader(this.pending, this.consumed);
    try {
      const magic = r.byte();
      if (magic !== ARCHIVE_MAGIC) throw new SampleFormatError(`LSL 1.00 feed: byte ${this.consumed} is 0x${magic.toString(16)}, expected the archive magic 0x7f`);
      const version = r.int(4);
      if (version > 17) throw new SampleFormatError(`LSL 1.00 feed: archive version ${version} is newer than supported`);
      this.shortinfo = r.string(1024 * 1024);
    } catch (e) {
      if (e instanceof NeedMore) return (checkUnfinished(this.pending.length, this.consumed), false);
      throw e;
    }
    this.advance(r.pos);
    this.headerDone = true;
    return true;
  }

  /** Decodes exactly `n` samples if they are all buffered, else nothing. */
  take(n: number): SampleBatch | undefined {
    const saved = [this.pending, this.consumed, this.firstSample, this.lastTimestamp] as const;
    const batch = this.decode(n);
    if (batch && batch.count === n) return batch;
    if (batch) this.decode(1); // fewer than n: throws if a fault stopped it, else the rest has not arrived
    [this.pending, this.consumed, this.firstSample, this.lastTimestamp] = saved;
    checkUnfinished(this.pending.length, this.consumed);
    return undefined;
  }

  /** Decodes every whole sample buffered so far. */
  drain(): SampleBatch[] {
    return decodeUntilDone(
      () => this.decode(this.batchSize),
      () => checkUnfinished(this.pending.length, this.consumed),
    );
  }

  private decode(limit: number): SampleBatch | undefined {
    const values: (number | bigint | string)[] = [];
    const stamps: number[] = [];
    const width = FORMAT_BYTES[this.format];
    while (stamps.length < limit) {
      const r = new PortableReader(this.pending, this.consumed);
      const row: (number | bigint | string)[] = [];
      let ts: number;
      try {
        if (this.firstSample) r.raw(2);
        const tagAt = r.pos;
        const tag = r.int(1);
        if (tag !== TAG_DEDUCED && tag !== TAG_TRANSMITTED) {
          throw new SampleFormatError(`LSL 1.00 feed: byte ${this.consumed + tagAt} holds sample tag ${tag}, expected 1 or 2`);
        }
        ts = tag === TAG_TRANSMITTED ? r.float64() : deducedTimestamp(this.lastTimestamp, this.rate);
        for (let c = 0; c < this.channels; c++) {
          if (this.format === 'string') row.push(r.string());
          else if (this.format === 'float32') row.push(r.float32());
          else if (this.format === 'double64') row.push(r.float64());
          else if (this.format === 'int64') row.push(r.bigint(8, true));
          else row.push(r.int(width));
        }
      } catch (e) {
        // a fault after whole samples: hand those out first; the next call fails on it
        if (e instanceof NeedMore || stamps.length > 0) break;
        throw e;
      }
      this.firstSample = false;
      this.lastTimestamp = ts;
      stamps.push(ts);
      for (const v of row) values.push(v);
      this.advance(r.pos);
    }
    if (stamps.length === 0) return undefined;
    const out = newValueArray(this.format, values.length);
    for (let k = 0; k < values.length; k++) (out as unknown as unknown[])[k] = values[k];
    return { count: stamps.length, values: out, timestamps: Float64Array.from(stamps) };
  }

  resetTimestamps(): void {
    this.lastTimestamp = 0;
  }

  private advance(n: number): void {
    this.consumed += n;
    this.pending = this.pending.subarray(n);
  }
}
