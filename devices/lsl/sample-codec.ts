import { FORMAT_BYTES, testPattern, type ChannelFormat } from './channel-format.js';

/**
 * Samples on the wire, data protocol 1.10 (liblsl src/sample.cpp, `save_streambuf` /
 * `load_streambuf`):
 *   tag (1 byte): 1 = timestamp deduced (previous + 1/rate), 2 = timestamp follows
 *   [timestamp: float64]
 *   values: numeric formats as raw little-endian values (channels x size);
 *           strings each as: length-size byte (1, 2, 4 or 8), length (that many bytes), UTF-8 bytes.
 * Byte order here is always little-endian: we announce `Native-Byte-Order: 1234` and, as an outlet,
 * answer `Byte-Order: 1234`; a peer that asks for big-endian data is refused with a clear error.
 */
export const TAG_DEDUCED = 1;
export const TAG_TRANSMITTED = 2;
/** liblsl's DEDUCED_TIMESTAMP: "no timestamp of its own, deduce it". */
export const DEDUCED_TIMESTAMP = -1.0;

/** A deduced sample's timestamp: one nominal period after the previous one (the same for irregular streams). */
export function deducedTimestamp(previous: number, rate: number): number {
  return rate > 0 ? previous + 1 / rate : previous;
}

export type NumericArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | BigInt64Array;
export type ValueArray = NumericArray | string[];

/** A run of samples of one stream, values sample-major. */
export interface SampleBatch {
  readonly count: number;
  readonly values: ValueArray;
  /** Timestamps on the sender's clock (deduced ones already filled in). */
  readonly timestamps: Float64Array;
}

export function newValueArray(format: ChannelFormat, length: number): ValueArray {
  switch (format) {
    case 'float32':
      return new Float32Array(length);
    case 'double64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'string':
      return new Array<string>(length).fill('');
  }
}

/** One test-pattern sample as the value array its format is sent from. */
export function testPatternSample(format: ChannelFormat, channels: number, offset: number): ValueArray {
  const values = newValueArray(format, channels);
  const pattern = testPattern(format, channels, offset);
  for (let c = 0; c < channels; c++) (values as unknown as unknown[])[c] = pattern[c];
  return values;
}

/**
 * Encodes `count` samples starting at sample `from` of `values` (sample-major, `channels` wide).
 * A timestamp equal to DEDUCED_TIMESTAMP is sent as "deduced".
 */
export function encodeSamples(format: ChannelFormat, channels: number, values: ValueArray, timestamps: ArrayLike<number>, from: number, count: number): Buffer {
  if (format === 'string') return encodeStringSamples(channels, values as string[], timestamps, from, count);
  const size = FORMAT_BYTES[format];
  let bytes = 0;
  for (let i = from; i < from + count; i++) bytes += 1 + (timestamps[i] === DEDUCED_TIMESTAMP ? 0 : 8) + channels * size;
  const out = Buffer.allocUnsafe(bytes);
  const src = values as NumericArray;
  const raw = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  let at = 0;
  for (let i = from; i < from + count; i++) {
    if (timestamps[i] === DEDUCED_TIMESTAMP) {
      out[at++] = TAG_DEDUCED;
    } else {
      out[at++] = TAG_TRANSMITTED;
      out.writeDoubleLE(timestamps[i], at);
      at += 8;
    }
    const start = i * channels * size;
    out.set(raw.subarray(start, start + channels * size), at);
    at += channels * size;
  }
  return out;
}

function encodeStringSamples(channels: number, values: string[], timestamps: ArrayLike<number>, from: number, count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = from; i < from + count; i++) {
    if (timestamps[i] === DEDUCED_TIMESTAMP) {
      parts.push(Buffer.from([TAG_DEDUCED]));
    } else {
      const head = Buffer.allocUnsafe(9);
      head[0] = TAG_TRANSMITTED;
      head.writeDoubleLE(timestamps[i], 1);
      parts.push(head);
    }
    for (let c = 0; c < channels; c++) {
      const text = Buffer.from(values[i * channels + c] ?? '', 'utf8');
      let len: Buffer;
      if (text.length <= 0xff) len = Buffer.from([1, text.length]);
      else {
        len = Buffer.allocUnsafe(5);
        len[0] = 4;
        len.writeUInt32LE(text.length, 1);
      }
      parts.push(len, text);
    }
  }
  return Buffer.concat(parts);
}

/**
 * Thrown on bytes that cannot be samples; names the byte offset in the feed. `decoded` holds the
 * whole samples of the same call that came before the fault: nothing received is lost.
 */
export class SampleFormatError extends Error {
  override name = 'SampleFormatError';
  decoded: SampleBatch[] = [];
}

/** Runs `decode` until it has nothing more; a fault carries the batches decoded before it. */
export function decodeUntilDone(decode: () => SampleBatch | undefined, unfinished: () => void): SampleBatch[] {
  const batches: SampleBatch[] = [];
  try {
    for (let b = decode(); b; b = decode()) batches.push(b);
    unfinished();
  } catch (e) {
    if (e instanceof SampleFormatError) e.decoded = batches;
    throw e;
  }
  return batches;
}

/** Largest sample a feed may send (all its values, 1.10 or 1.00): what a peer can make us buffer. */
export const MAX_SAMPLE_BYTES = 64 * 1024 * 1024;

/** Throws unless one sample of `channels` values of `format` fits in MAX_SAMPLE_BYTES. */
export function checkSampleSize(format: ChannelFormat, channels: number): void {
  const bytes = channels * Math.max(1, FORMAT_BYTES[format]);
  if (!Number.isSafeInteger(channels) || channels < 0 || bytes > MAX_SAMPLE_BYTES) {
    throw new SampleFormatError(`LSL feed: ${channels} channels of ${format} make samples over ${MAX_SAMPLE_BYTES} bytes`);
  }
}

/** Throws when the bytes kept for an unfinished sample exceed MAX_SAMPLE_BYTES. */
export function checkUnfinished(pending: number, offset: number): void {
  if (pending > MAX_SAMPLE_BYTES + 9) {
    throw new SampleFormatError(`LSL feed: the sample at byte ${offset} is still unfinished after ${pending} bytes (limit ${MAX_SAMPLE_BYTES})`);
  }
}

/**
 * Incremental decoder of a 1.10 sample feed: push bytes as they arrive (any split), get whole
 * samples back. Numeric samples are decoded straight into a preallocated batch buffer.
 */
export class SampleDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private lastTimestamp = 0;
  /** Bytes consumed since the feed began (for error messages). */
  private consumed = 0;
  private readonly size: number;

  constructor(
    readonly format: ChannelFormat,
    readonly channels: number,
    /** Nominal rate (0 = irregular), to deduce timestamps. */
    readonly rate: number,
    /** Maximum samples per returned batch. */
    readonly batchSize = 1024,
    /** Offset of the first byte given to this decoder in the whole TCP stream. */
    startOffset = 0,
  ) {
    checkSampleSize(format, channels);
    this.size = FORMAT_BYTES[format];
    this.consumed = startOffset;
  }

  /** Bytes received but not yet part of a whole sample. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Feeds bytes; returns the whole samples they complete, in batches of at most `batchSize`. */
  push(bytes: Buffer): SampleBatch[] {
    this.append(bytes);
    return this.drain();
  }

  /** Buffers bytes without decoding them. */
  append(bytes: Buffer): void {
    if (bytes.length > 0) this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
  }

  /** Decodes every whole sample buffered so far. */
  drain(): SampleBatch[] {
    return decodeUntilDone(
      () => (this.format === 'string' ? this.decodeStrings() : this.decodeNumeric()),
      () => checkUnfinished(this.pending.length, this.consumed),
    );
  }

  /** Decodes exactly `n` samples if they are all buffered (used for the test patterns). */
  take(n: number): SampleBatch | undefined {
    const saved = { pending: this.pending, last: this.lastTimestamp, consumed: this.consumed };
    const decode = (k: number): SampleBatch | undefined => (this.format === 'string' ? this.decodeStrings(k) : this.decodeNumeric(k));
    const batch = decode(n);
    if (batch && batch.count === n) return batch;
    if (batch) decode(1); // fewer than n: throws if a fault stopped it, else the rest has not arrived
    this.pending = saved.pending;
    this.lastTimestamp = saved.last;
    this.consumed = saved.consumed;
    checkUnfinished(this.pending.length, this.consumed);
    return undefined;
  }

  /** Starts deducing timestamps afresh (after the test patterns, as liblsl does). */
  resetTimestamps(): void {
    this.lastTimestamp = 0;
  }

  private deduce(tag: number, at: number, buf: Buffer, previous = this.lastTimestamp): number {
    return tag === TAG_TRANSMITTED ? buf.readDoubleLE(at) : deducedTimestamp(previous, this.rate);
  }

  private badTag(tag: number, at: number): never {
    throw new SampleFormatError(
      `LSL feed: byte ${this.consumed + at} is 0x${tag.toString(16).padStart(2, '0')}, expected a sample tag (0x01 deduced or 0x02 timestamped): the stream is corrupt or not ${this.format} x ${this.channels}`,
    );
  }

  private decodeNumeric(limit = this.batchSize): SampleBatch | undefined {
    const buf = this.pending;
    const rowBytes = this.channels * this.size;
    // Count whole samples first, then copy them in one pass.
    let at = 0;
    let n = 0;
    while (n < limit && at < buf.length) {
      const tag = buf[at];
      if (tag !== TAG_DEDUCED && tag !== TAG_TRANSMITTED) {
        if (n > 0) break; // hand out the samples before it; the next call fails on it
        this.badTag(tag, at);
      }
      const len = 1 + (tag === TAG_TRANSMITTED ? 8 : 0) + rowBytes;
      if (at + len > buf.length) break;
      at += len;
      n++;
    }
    if (n === 0) return undefined;
    const values = newValueArray(this.format, n * this.channels) as NumericArray;
    const raw = new Uint8Array(values.buffer);
    const timestamps = new Float64Array(n);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const tag = buf[p];
      const ts = this.deduce(tag, p + 1, buf);
      p += tag === TAG_TRANSMITTED ? 9 : 1;
      timestamps[i] = ts;
      this.lastTimestamp = ts;
      raw.set(buf.subarray(p, p + rowBytes), i * rowBytes);
      p += rowBytes;
    }
    this.advance(p);
    return { count: n, values, timestamps };
  }

  private decodeStrings(limit = this.batchSize): SampleBatch | undefined {
    const buf = this.pending;
    const values: string[] = [];
    const stamps: number[] = [];
    let at = 0;
    let last = this.lastTimestamp;
    while (stamps.length < limit && at < buf.length) {
      let sample: { row: string[]; ts: number; end: number } | undefined;
      try {
        sample = this.stringSample(buf, at, last);
      } catch (e) {
        if (stamps.length > 0) break; // hand out the samples before the fault; the next call fails on it
        throw e;
      }
      if (!sample) break;
      values.push(...sample.row);
      stamps.push(sample.ts);
      last = sample.ts;
      at = sample.end;
    }
    if (stamps.length === 0) return undefined;
    this.lastTimestamp = last;
    this.advance(at);
    return { count: stamps.length, values, timestamps: Float64Array.from(stamps) };
  }

  /** The string sample at `at`, or undefined while it has not all arrived. */
  private stringSample(buf: Buffer, at: number, previous: number): { row: string[]; ts: number; end: number } | undefined {
    let p = at;
    const tag = buf[p];
    if (tag !== TAG_DEDUCED && tag !== TAG_TRANSMITTED) this.badTag(tag, p);
    p++;
    if (tag === TAG_TRANSMITTED && p + 8 > buf.length) return undefined;
    const ts = this.deduce(tag, p, buf, previous);
    if (tag === TAG_TRANSMITTED) p += 8;
    const row: string[] = [];
    for (let c = 0; c < this.channels; c++) {
      if (p >= buf.length) return undefined;
      const width = buf[p];
      if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
        throw new SampleFormatError(`LSL feed: byte ${this.consumed + p} gives a string length size of ${width}, expected 1, 2, 4 or 8: the stream is corrupt`);
      }
      if (p + 1 + width > buf.length) return undefined;
      const len = width === 1 ? buf[p + 1] : width === 2 ? buf.readUInt16LE(p + 1) : width === 4 ? buf.readUInt32LE(p + 1) : Number(buf.readBigUInt64LE(p + 1));
      if (len > MAX_SAMPLE_BYTES) throw new SampleFormatError(`LSL feed: byte ${this.consumed + p} announces a string of ${len} bytes (limit ${MAX_SAMPLE_BYTES})`);
      p += 1 + width;
      if (p + len > buf.length) return undefined;
      row.push(buf.toString('utf8', p, p + len));
      p += len;
    }
    return { row, ts, end: p };
  }

  private advance(n: number): void {
    this.consumed += n;
    this.pending = n >= this.pending.length ? Buffer.alloc(0) : this.pending.subarray(n);
  }
}
