import { open } from 'node:fs/promises';
import type { Document, Element } from '@xmldom/xmldom';
import { FORMAT_BYTES, isChannelFormat, type ChannelFormat } from '../lsl/channel-format.js';
import { newValueArray, type NumericArray, type ValueArray } from '../lsl/sample-codec.js';
import { channelsOf, parseXmlRoot } from '../lsl/stream-info.js';
import { dejitter, isCorruptedLastClockOffset, plainEffectiveSrate, synchronizeClock, type Segment } from './xdf-clock.js';
import { BOUNDARY_UUID, XDF_MAGIC, XdfTag } from './xdf-format.js';

/**
 * XDF reader (the container LabRecorder writes; grammar in xdf-format.ts). Reads what pyxdf's
 * `load_xdf` reads, with the same defaults and the same time-stamp post-processing (clock
 * synchronisation with clock-reset handling, then jitter removal: see xdf-clock.ts), so that time
 * stamps, segments and effective rates agree with it.
 *
 * Robustness (pyxdf stops or scans on its own terms; here):
 * - a file cut anywhere keeps every complete chunk; a warning names the byte where the incomplete
 *   chunk starts;
 * - a corrupt chunk (length prefix not 1/4/8, a length that cannot hold the chunk's fields or runs
 *   past the end of the file, a sample that does not fit its chunk, a bad timestamp or string
 *   length prefix) is dropped whole: reading goes on after the next Boundary chunk (a warning names
 *   the byte and the bytes skipped) or, when there is none, stops with a warning;
 * - chunks with an unknown tag are skipped with a warning; so are Samples / ClockOffset / Footer
 *   chunks of a stream whose header has not been seen (one warning per stream), and StreamHeader,
 *   StreamFooter or FileHeader chunks that are not well-formed XML;
 * - a second StreamHeader for the same stream id is ignored with a warning (pyxdf would drop the
 *   samples read so far);
 * - a well-formed StreamHeader without a usable name, type, channel_count, nominal_srate or
 *   channel_format is an XdfFormatError naming the byte, the stream id and the field (other LSL
 *   fields, such as v4address or uid, may be missing);
 * - a file that does not start with "XDF:" is an XdfFormatError at byte 0.
 *
 * Speed: files are read in big blocks (16 MiB, never the whole file at once); a numeric sample's
 * values are copied bit-exactly as integers through a DataView (no per-sample allocation) into
 * per-stream arrays, sized by extrapolating the stream's share of the file read so far (usually
 * one allocation; fresh memory is what costs most on small VMs). Samples chunks are parsed
 * incrementally, so a chunk may span blocks; only a header/XML chunk or one sample must fit in the
 * buffer (which grows if needed).
 */
export interface XdfReadOptions {
  /** Map every stream's time stamps onto the recorder's clock with its ClockOffset chunks (default true). */
  synchronizeClocks?: boolean;
  /** Split the clock offsets at clock resets before fitting (default true). */
  handleClockResets?: boolean;
  /** Replace the time stamps of regularly sampled streams by a line per segment (default true). */
  dejitterTimestamps?: boolean;
  /** A gap of at least this many seconds (and `jitterBreakThresholdSamples`) splits segments (default 1). */
  jitterBreakThresholdSeconds?: number;
  /** A gap of at least this many sample periods (and `jitterBreakThresholdSeconds`) splits segments (default 500). */
  jitterBreakThresholdSamples?: number;
  /** Clock reset: a ClockOffset delayed by at least this many seconds (default 5)... */
  clockResetThresholdSeconds?: number;
  /** ... and this many MAD units (default 5)... */
  clockResetThresholdStds?: number;
  /** ... with an offset change of at least this many seconds (default 1)... */
  clockResetThresholdOffsetSeconds?: number;
  /** ... and this many MAD units (default 10). */
  clockResetThresholdOffsetStds?: number;
  /** Huber threshold of the clock-offset fit, in seconds (default 0.0001). */
  winsorThreshold?: number;
  /** Name used in error messages (readXdf: the path). */
  source?: string;
  /** @internal readXdf's read size in bytes (default 16 MiB); tests use tiny ones to split chunks everywhere. */
  blockSize?: number;
}

export interface XdfStream {
  /** The StreamId of the stream's chunks. */
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly channelCount: number;
  readonly channelFormat: ChannelFormat;
  /** Hz; 0 for irregular streams. */
  readonly nominalSrate: number;
  /** `<source_id>`, '' when absent. */
  readonly sourceId: string;
  /** From `<desc><channels><channel>`; empty when the header does not describe channels. */
  readonly channels: readonly { label: string; unit: string; type: string }[];
  readonly headerXml: string;
  readonly footerXml?: string;
  readonly sampleCount: number;
  /**
   * Sample-major values, exactly sampleCount * channelCount long, in the format's own type
   * (int64: BigInt64Array, string: string[]). A numeric array may be a view on a slightly larger
   * buffer (the growth reserve, when small, is not copied away).
   */
  readonly timeSeries: ValueArray;
  /** After the requested post-processing (clock synchronisation, jitter removal). */
  readonly timeStamps: Float64Array;
  /** The ClockOffset chunks: collection times and offsets (after pyxdf's pylsl#67 truncation when synchronising). */
  readonly clockTimes: Float64Array;
  readonly clockValues: Float64Array;
  /** Jitter-removal segments, inclusive (pyxdf's info['segments']). */
  readonly segments: readonly Segment[];
  /** Clock-synchronisation segments, inclusive (pyxdf's info['clock_segments']); empty without synchronisation. */
  readonly clockSegments: readonly Segment[];
  /** Measured rate (pyxdf's info['effective_srate']); 0 for irregular streams. */
  readonly effectiveSrate: number;
  readonly footer?: {
    firstTimestamp?: number;
    lastTimestamp?: number;
    sampleCount?: number;
    clockOffsets: { time: number; value: number }[];
  };
}

export interface XdfDocument {
  /** The file header's `<version>` ('' when the file has no readable FileHeader). */
  readonly version: string;
  readonly headerXml: string;
  /** The file header's `<datetime>`, as written. */
  readonly datetime?: string;
  /** In the order of their first StreamHeader chunk. */
  readonly streams: readonly XdfStream[];
  readonly warnings: readonly string[];
}

/**
 * An XDF file that could not be read (or used as a recording). `warnings` are what the reader had
 * skipped or repaired before it gave up (a corrupt chunk at byte N, ...): often the real cause,
 * so the message lists them too.
 */
export class XdfReadError extends Error {
  override name = 'XdfReadError';
  constructor(
    message: string,
    readonly warnings: readonly string[] = [],
  ) {
    super(message + describeWarnings(warnings));
  }
}

/** Most warnings a message lists (all are in `warnings`). */
const WARNINGS_IN_MESSAGE = 5;

function describeWarnings(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  const more = warnings.length > WARNINGS_IN_MESSAGE ? `; and ${warnings.length - WARNINGS_IN_MESSAGE} more` : '';
  return `; before that the reader reported: ${warnings.slice(0, WARNINGS_IN_MESSAGE).join('; ')}${more}`;
}

/** A file that is not XDF, or a stream header that does not say what the stream is. */
export class XdfFormatError extends XdfReadError {
  override name = 'XdfFormatError';
  constructor(
    /** Offset in the file of the byte (or chunk) at fault. */
    readonly byte: number,
    /** What is wrong there. */
    readonly problem: string,
    readonly streamId?: number,
    readonly source?: string,
    warnings: readonly string[] = [],
  ) {
    super(`${source ? `${source}: ` : ''}byte ${byte}${streamId !== undefined ? ` (stream id ${streamId})` : ''}: ${problem}`, warnings);
  }
}

const DEFAULT_BLOCK = 16 * 1024 * 1024;

/** Parses a whole XDF file held in memory. */
export function parseXdf(bytes: Uint8Array, options: XdfReadOptions = {}): XdfDocument {
  const parser = new XdfParser(bytes.length, options);
  try {
    parser.feed(bytes, 0, true);
  } catch (e) {
    throw parser.failed(e);
  }
  return parser.finish();
}

/** Reads an XDF file in blocks (16 MiB by default): memory holds the data, not the file. */
export async function readXdf(path: string, options: XdfReadOptions = {}): Promise<XdfDocument> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const parser = new XdfParser(size, { source: path, ...options });
    const step = Math.max(1, Math.floor(options.blockSize ?? DEFAULT_BLOCK));
    let buf = Buffer.allocUnsafe(Math.min(Math.max(step, 64 * 1024), Math.max(size, 1)));
    let filled = 0;
    let base = 0;
    let pos = 0;
    for (;;) {
      const want = Math.min(step, buf.length - filled, size - pos);
      let eof = pos >= size;
      if (want > 0) {
        const { bytesRead } = await fh.read(buf, filled, want, pos);
        filled += bytesRead;
        pos += bytesRead;
        if (bytesRead === 0)
          eof = true; // the file shrank while we read it
        else eof = pos >= size;
      }
      if (eof) parser.setSize(base + filled);
      let consumed: number;
      try {
        consumed = parser.feed(buf.subarray(0, filled), base, eof);
      } catch (e) {
        throw parser.failed(e);
      }
      if (eof) break;
      if (consumed === 0 && filled === buf.length) {
        // One chunk header, XML chunk or sample is bigger than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, Math.max(size - base, buf.length + 1)));
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      } else if (consumed > 0) {
        buf.copyWithin(0, consumed, filled);
        filled -= consumed;
        base += consumed;
      }
    }
    return parser.finish();
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------

/** What the parser is in the middle of. */
const Mode = { Magic: 0, Chunk: 1, Samples: 2, Skip: 3, Scan: 4, Done: 5 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

const TAG_NAMES: Record<number, string> = { 1: 'FileHeader', 2: 'StreamHeader', 3: 'Samples', 4: 'ClockOffset', 5: 'Boundary', 6: 'StreamFooter' };
const tagName = (tag: number): string => TAG_NAMES[tag] ?? `tag ${tag}`;

interface Header {
  name: string;
  type: string;
  channelCount: number;
  channelFormat: ChannelFormat;
  nominalSrate: number;
  sourceId: string;
  channels: { label: string; unit: string; type: string }[];
  canDropSamples: boolean;
}

/** One stream while its chunks are read. */
class StreamBuilder {
  readonly sampleBytes: number;
  /** Integer unit used to copy values: 1, 2 or 4 bytes. */
  readonly unit: 1 | 2 | 4;
  readonly tdiff: number;
  last = 0;
  count = 0;
  capacity = 0;
  values: ValueArray;
  /** The values' buffer as integers of `unit` bytes (numeric formats). */
  units: Int8Array | Int16Array | Int32Array = new Int8Array(0);
  stamps: Float64Array = new Float64Array(0);
  readonly clockTimes: number[] = [];
  readonly clockValues: number[] = [];
  footerXml?: string;
  footer?: XdfStream['footer'];

  constructor(
    readonly id: number,
    readonly header: Header,
    readonly headerXml: string,
  ) {
    const size = FORMAT_BYTES[header.channelFormat];
    this.sampleBytes = size * header.channelCount;
    this.unit = size >= 4 ? 4 : (size as 1 | 2);
    this.tdiff = header.nominalSrate > 0 ? 1 / header.nominalSrate : 0;
    this.values = header.channelFormat === 'string' ? [] : newValueArray(header.channelFormat, 0);
  }

  /**
   * Room for `more` samples after `count`; the file's samples start at byte `dataStart` and have
   * been read up to `filePos` (the end of those `more` samples) of `fileSize` bytes. Grows to what the stream will need if it keeps its share
   * of the file (+3 %): one or two copies instead of doubling's many, and memory that is touched
   * once (fresh pages are slow on small VMs). Pages reserved and never written cost nothing.
   */
  reserve(more: number, dataStart: number, filePos: number, fileSize: number): void {
    const need = this.count + more;
    if (need <= this.capacity) return;
    // Never more samples than the whole file could hold (a wide sample must not reserve 256 of itself).
    const minBytes = 1 + (this.header.channelFormat === 'string' ? 2 * this.header.channelCount : this.sampleBytes);
    const most = Math.floor(fileSize / minBytes) + 1;
    let cap = Math.max(need, Math.min(Math.max(Math.ceil(this.capacity * 1.5), 256), most));
    if (filePos > dataStart && fileSize > filePos) {
      const guess = Math.ceil((need * (fileSize - dataStart) * 1.03) / (filePos - dataStart)) + 16;
      cap = Math.max(cap, Math.min(guess, most));
    }
    let stamps: Float64Array;
    let values: NumericArray | undefined;
    try {
      stamps = new Float64Array(cap);
      if (this.header.channelFormat !== 'string') values = newValueArray(this.header.channelFormat, cap * this.header.channelCount) as NumericArray;
    } catch {
      cap = Math.max(need, Math.ceil(this.capacity * 1.5));
      stamps = new Float64Array(cap);
      if (this.header.channelFormat !== 'string') values = newValueArray(this.header.channelFormat, cap * this.header.channelCount) as NumericArray;
    }
    stamps.set(this.stamps.subarray(0, this.count));
    this.stamps = stamps;
    if (values) {
      const old = this.values as NumericArray;
      new Uint8Array(values.buffer).set(new Uint8Array(old.buffer, 0, this.count * this.sampleBytes));
      this.values = values;
      this.units = this.unit === 4 ? new Int32Array(values.buffer) : this.unit === 2 ? new Int16Array(values.buffer) : new Int8Array(values.buffer);
    }
    this.capacity = cap;
  }

  rollback(count: number, last: number): void {
    this.count = count;
    this.last = last;
    if (this.header.channelFormat === 'string') (this.values as string[]).length = count * this.header.channelCount;
  }
}

class XdfParser {
  private mode: Mode = Mode.Magic;
  private readonly warnings: string[] = [];
  private readonly streams = new Map<number, StreamBuilder>();
  private readonly order: StreamBuilder[] = [];
  private readonly orphans = new Map<number, { chunks: number; first: number }>();
  private readonly source?: string;
  private fileHeaderXml = '';
  private version = '';
  private datetime?: string;
  private sawFileHeader = false;
  /** Where the first Samples chunk starts (-1 before it). */
  private dataStart = -1;

  // Samples chunk in progress
  private cur?: StreamBuilder;
  private remaining = 0;
  private chunkStart = 0;
  private chunkEnd = 0;
  private rollbackCount = 0;
  private rollbackLast = 0;
  private announced = 0;
  // Skip / scan
  private skipTo = 0;
  private scanStart = 0;
  private scanReason = '';
  private scanTruncated = false;

  // The current block and views on it
  private bytes: Uint8Array = new Uint8Array(0);
  private buf: Buffer = Buffer.alloc(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    private totalSize: number,
    private readonly options: XdfReadOptions,
  ) {
    this.source = options.source;
  }

  setSize(size: number): void {
    this.totalSize = size;
  }

  /** The error to throw for `e`, a format error raised while parsing: with the warnings so far. */
  failed(e: unknown): unknown {
    if (!(e instanceof XdfFormatError) || this.warnings.length === 0) return e;
    return new XdfFormatError(e.byte, e.problem, e.streamId, e.source, [...this.warnings]);
  }

  /**
   * Parses what it can of `bytes` (which start at file offset `base`); returns how many bytes it
   * is done with (the caller keeps the rest and appends more). `eof`: `bytes` reach the end of the file.
   */
  feed(bytes: Uint8Array, base: number, eof: boolean): number {
    this.setBlock(bytes);
    const n = bytes.length;
    let p = 0;
    for (;;) {
      switch (this.mode) {
        case Mode.Magic: {
          if (n < 4) {
            if (!eof) return 0;
            throw new XdfFormatError(0, `not an XDF file: ${n} bytes, shorter than the 4-byte "XDF:" signature`, undefined, this.source);
          }
          for (let i = 0; i < 4; i++) {
            if (bytes[i] !== XDF_MAGIC[i]) {
              const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
              throw new XdfFormatError(0, `not an XDF file: it starts with bytes ${head}, not "XDF:"`, undefined, this.source);
            }
          }
          p = 4;
          this.mode = Mode.Chunk;
          break;
        }
        case Mode.Chunk: {
          if (p >= n) {
            if (eof) this.mode = Mode.Done;
            return p;
          }
          const next = this.chunk(p, base);
          if (next < 0) {
            // The chunk header or an XML chunk is not all in `bytes` yet.
            if (!eof) return p;
            this.warnings.push(`truncated file: the chunk at byte ${base + p} is incomplete (the file ends at byte ${base + n}); kept the complete chunks before it`);
            this.mode = Mode.Done;
            return n;
          }
          p = next;
          break;
        }
        case Mode.Samples: {
          const next = this.samples(p, base);
          if (next < 0) return -next - 1; // stalled: need more bytes
          p = next;
          break;
        }
        case Mode.Skip: {
          const to = this.skipTo - base;
          if (to > n) {
            // (cannot happen at eof: a chunk's end was checked against the file size)
            if (eof) this.mode = Mode.Done;
            return n;
          }
          p = to;
          this.mode = Mode.Chunk;
          break;
        }
        case Mode.Scan: {
          const from = Math.max(p, this.scanStart - base);
          const at = this.buf.indexOf(BOUNDARY_UUID, from);
          if (at >= 0) {
            const resume = base + at + BOUNDARY_UUID.length;
            const what = this.scanTruncated ? `${this.scanReason} (not the end of a cut file: a boundary chunk follows)` : this.scanReason;
            this.warnings.push(`byte ${this.chunkStart}: ${what}; skipped ${resume - this.chunkStart} bytes, up to the end of the next boundary chunk (byte ${resume})`);
            p = at + BOUNDARY_UUID.length;
            this.mode = Mode.Chunk;
            break;
          }
          if (!eof) return Math.max(p, n - (BOUNDARY_UUID.length - 1));
          if (this.scanTruncated) {
            this.warnings.push(`truncated file: ${this.scanReason}; kept the complete chunks before byte ${this.chunkStart}`);
          } else {
            this.warnings.push(`byte ${this.chunkStart}: ${this.scanReason}; no boundary chunk follows, so the last ${this.totalSize - this.chunkStart} bytes were not read`);
          }
          this.mode = Mode.Done;
          return n;
        }
        case Mode.Done:
          return n;
      }
    }
  }

  private setBlock(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Enters scan mode: the chunk at `chunkStart` (absolute) is bad; look for the next boundary from `p`. */
  private corrupt(chunkStart: number, reason: string, truncated = false): void {
    this.chunkStart = chunkStart;
    this.scanStart = chunkStart + 1;
    this.scanReason = reason;
    this.scanTruncated = truncated;
    this.mode = Mode.Scan;
  }

  /** Parses the chunk at `p`; returns the offset after what it used, or -1 when `bytes` end too early. */
  private chunk(p: number, base: number): number {
    const bytes = this.bytes;
    const n = bytes.length;
    const start = base + p;
    const lenBytes = bytes[p];
    if (lenBytes !== 1 && lenBytes !== 4 && lenBytes !== 8) {
      this.corrupt(start, `corrupt chunk: its length prefix must be 1, 4 or 8, found ${lenBytes}`);
      return p;
    }
    if (p + 1 + lenBytes + 2 > n) return -1;
    let length: number;
    if (lenBytes === 1) length = bytes[p + 1];
    else if (lenBytes === 4) length = this.dv.getUint32(p + 1, true);
    else length = this.dv.getUint32(p + 1, true) + this.dv.getUint32(p + 5, true) * 2 ** 32;
    const tagAt = p + 1 + lenBytes;
    if (length < 2) {
      this.corrupt(start, `corrupt chunk: length ${length} cannot hold its 2-byte tag`);
      return p;
    }
    const tag = this.dv.getUint16(tagAt, true);
    const end = start + 1 + lenBytes + length;
    if (end > this.totalSize) {
      this.corrupt(start, `the ${tagName(tag)} chunk at byte ${start} (${length} bytes) would end at byte ${end}, after the end of the file (byte ${this.totalSize})`, true);
      return p;
    }
    const endRel = end - base;
    const content = tagAt + 2;
    const withId = tag === XdfTag.StreamHeader || tag === XdfTag.Samples || tag === XdfTag.ClockOffset || tag === XdfTag.StreamFooter;
    if (withId && length < 6) {
      this.corrupt(start, `corrupt ${tagName(tag)} chunk: length ${length} cannot hold its tag and stream id`);
      return p;
    }
    switch (tag) {
      case XdfTag.FileHeader: {
        if (endRel > n) return -1;
        this.fileHeader(this.text(content, endRel), start);
        return endRel;
      }
      case XdfTag.StreamHeader: {
        if (endRel > n) return -1;
        const id = this.dv.getUint32(content, true);
        this.streamHeader(id, this.text(content + 4, endRel), start);
        return endRel;
      }
      case XdfTag.StreamFooter: {
        if (endRel > n) return -1;
        const id = this.dv.getUint32(content, true);
        const s = this.streams.get(id);
        if (!s) {
          this.orphan(id, start);
          return endRel;
        }
        this.streamFooter(s, this.text(content + 4, endRel), start);
        return endRel;
      }
      case XdfTag.ClockOffset: {
        if (length < 22) {
          this.corrupt(start, `corrupt ClockOffset chunk: length ${length}, expected 22 (tag, stream id, two float64)`);
          return p;
        }
        if (endRel > n) return -1;
        const id = this.dv.getUint32(content, true);
        const s = this.streams.get(id);
        if (!s) this.orphan(id, start);
        else {
          s.clockTimes.push(this.dv.getFloat64(content + 4, true));
          s.clockValues.push(this.dv.getFloat64(content + 12, true));
        }
        return endRel;
      }
      case XdfTag.Boundary: {
        this.skipTo = end;
        this.mode = Mode.Skip;
        return p;
      }
      case XdfTag.Samples: {
        // stream id, then NumSamples as a varlen number
        const at = content + 4;
        if (at >= endRel) {
          this.corrupt(start, `corrupt Samples chunk: length ${length} leaves no room for the sample count`);
          return p;
        }
        if (at >= n) return -1;
        const sizeBytes = bytes[at];
        if (sizeBytes !== 1 && sizeBytes !== 4 && sizeBytes !== 8) {
          this.corrupt(start, `corrupt Samples chunk: the sample count's length prefix (byte ${base + at}) must be 1, 4 or 8, found ${sizeBytes}`);
          return p;
        }
        if (at + 1 + sizeBytes > endRel) {
          this.corrupt(start, `corrupt Samples chunk: length ${length} cuts its sample count`);
          return p;
        }
        if (at + 1 + sizeBytes > n) return -1;
        const count = sizeBytes === 1 ? bytes[at + 1] : sizeBytes === 4 ? this.dv.getUint32(at + 1, true) : this.dv.getUint32(at + 1, true) + this.dv.getUint32(at + 5, true) * 2 ** 32;
        const id = this.dv.getUint32(content, true);
        const s = this.streams.get(id);
        if (!s) {
          this.orphan(id, start);
          this.skipTo = end;
          this.mode = Mode.Skip;
          return p;
        }
        const first = at + 1 + sizeBytes;
        const room = endRel - first;
        const minSample = 1 + (s.header.channelFormat === 'string' ? 2 * s.header.channelCount : s.sampleBytes);
        if (count * minSample > room) {
          this.corrupt(start, `corrupt Samples chunk of stream id ${id}: ${count} samples cannot fit in its ${room} bytes of samples`);
          return p;
        }
        if (this.dataStart < 0) this.dataStart = start;
        s.reserve(count, this.dataStart, end, this.totalSize);
        this.cur = s;
        this.remaining = count;
        this.announced = count;
        this.chunkStart = start;
        this.chunkEnd = end;
        this.rollbackCount = s.count;
        this.rollbackLast = s.last;
        this.mode = Mode.Samples;
        return first;
      }
      default: {
        this.warnings.push(`byte ${start}: chunk with unknown tag ${tag} (${length} bytes) skipped`);
        this.skipTo = end;
        this.mode = Mode.Skip;
        return p;
      }
    }
  }

  private text(from: number, to: number): string {
    return this.buf.toString('utf8', from, to);
  }

  private orphan(id: number, byte: number): void {
    const o = this.orphans.get(id);
    if (o) o.chunks++;
    else this.orphans.set(id, { chunks: 1, first: byte });
  }

  /**
   * Reads samples of the current Samples chunk from `p`. Returns the offset after the chunk (mode
   * changes), or -(q + 1) when `bytes` end before the chunk does (q: the first byte still needed).
   */
  private samples(p: number, base: number): number {
    const s = this.cur!;
    const bytes = this.bytes;
    const endRel = this.chunkEnd - base;
    const limit = Math.min(bytes.length, endRel);
    const isString = s.header.channelFormat === 'string';
    let rem = this.remaining;
    let count = s.count;
    let last = s.last;
    const tdiff = s.tdiff;
    const stamps = s.stamps;
    let bad = '';
    let short = false;
    if (!isString) {
      const sb = s.sampleBytes;
      const dv = this.dv;
      const unit = s.unit;
      const perSample = sb / unit;
      const dst = s.units;
      while (rem > 0) {
        if (p >= limit) {
          short = true;
          break;
        }
        const tsb = bytes[p];
        let q: number;
        let ts: number;
        if (tsb === 8) {
          q = p + 9;
          if (q + sb > limit) {
            short = true;
            break;
          }
          ts = dv.getFloat64(p + 1, true);
        } else if (tsb === 0) {
          q = p + 1;
          if (q + sb > limit) {
            short = true;
            break;
          }
          ts = last + tdiff;
        } else {
          bad = `TimeStampBytes of sample ${this.announced - rem} (byte ${base + p}) must be 0 or 8, found ${tsb}`;
          break;
        }
        // Copy the values' bytes as integers (bit-exact, NaN payloads too). The sample sits at any
        // alignment in the block, so through the DataView: as fast as a typed-array set of a
        // per-sample subarray within ~20 %, without allocating anything per sample.
        let di = count * perSample;
        if (unit === 4) {
          for (let k = q, e = q + sb; k < e; k += 4) dst[di++] = dv.getInt32(k, true);
        } else if (unit === 2) {
          for (let k = q, e = q + sb; k < e; k += 2) dst[di++] = dv.getInt16(k, true);
        } else {
          for (let k = 0; k < perSample; k++) dst[di++] = bytes[q + k]; // (wraps to int8)
        }
        stamps[count++] = ts;
        last = ts;
        p = q + sb;
        rem--;
      }
    } else {
      const nch = s.header.channelCount;
      const values = s.values as string[];
      const dv = this.dv;
      outer: while (rem > 0) {
        if (p >= limit) {
          short = true;
          break;
        }
        const tsb = bytes[p];
        let q: number;
        if (tsb === 8) q = p + 9;
        else if (tsb === 0) q = p + 1;
        else {
          bad = `TimeStampBytes of sample ${this.announced - rem} (byte ${base + p}) must be 0 or 8, found ${tsb}`;
          break;
        }
        // First check that the whole sample is here, then decode it.
        let r = q;
        for (let c = 0; c < nch; c++) {
          if (r >= limit) {
            short = true;
            break outer;
          }
          const lb = bytes[r];
          if (lb !== 1 && lb !== 4 && lb !== 8) {
            bad = `the length prefix of channel ${c} of sample ${this.announced - rem} (byte ${base + r}) must be 1, 4 or 8, found ${lb}`;
            break outer;
          }
          if (r + 1 + lb > limit) {
            short = true;
            break outer;
          }
          const len = lb === 1 ? bytes[r + 1] : lb === 4 ? dv.getUint32(r + 1, true) : dv.getUint32(r + 1, true) + dv.getUint32(r + 5, true) * 2 ** 32;
          r += 1 + lb + len;
          if (r > endRel) {
            bad = `channel ${c} of sample ${this.announced - rem} (byte ${base + q}) is ${len} bytes long and runs past the end of the chunk (byte ${this.chunkEnd})`;
            break outer;
          }
          if (r > limit) {
            short = true;
            break outer;
          }
        }
        const ts = tsb === 8 ? dv.getFloat64(p + 1, true) : last + tdiff;
        r = q;
        for (let c = 0; c < nch; c++) {
          const lb = bytes[r];
          const len = lb === 1 ? bytes[r + 1] : lb === 4 ? dv.getUint32(r + 1, true) : dv.getUint32(r + 1, true) + dv.getUint32(r + 5, true) * 2 ** 32;
          r += 1 + lb;
          values.push(this.buf.toString('utf8', r, r + len));
          r += len;
        }
        stamps[count++] = ts;
        last = ts;
        p = r;
        rem--;
      }
    }
    s.count = count;
    s.last = last;
    this.remaining = rem;
    if (bad === '' && short && limit < endRel) return -(p + 1); // more bytes to come
    if (bad !== '' || short) {
      const done = this.announced - rem;
      s.rollback(this.rollbackCount, this.rollbackLast);
      this.cur = undefined;
      const why = bad !== '' ? bad : `sample ${done} of ${this.announced} runs past the end of the chunk (byte ${this.chunkEnd})`;
      this.corrupt(this.chunkStart, `corrupt Samples chunk of stream id ${s.id}: ${why}`);
      this.scanStart = base + p;
      return p;
    }
    this.cur = undefined;
    if (p < endRel) {
      this.warnings.push(`byte ${this.chunkStart}: Samples chunk of stream id ${s.id} has ${endRel - p} bytes after its ${this.announced} samples (from byte ${base + p}); ignored`);
      this.skipTo = this.chunkEnd;
      this.mode = Mode.Skip;
      return p;
    }
    this.mode = Mode.Chunk;
    return p;
  }

  private fileHeader(xml: string, byte: number): void {
    if (this.sawFileHeader) {
      this.warnings.push(`byte ${byte}: a second FileHeader chunk; ignored`);
      return;
    }
    this.sawFileHeader = true;
    this.fileHeaderXml = xml;
    const root = parseXmlRoot(xml);
    if (typeof root === 'string') {
      this.warnings.push(`byte ${byte}: the FileHeader is not well-formed XML (${root})`);
      return;
    }
    this.version = childText(root, 'version') ?? '';
    this.datetime = childText(root, 'datetime');
  }

  private streamHeader(id: number, xml: string, byte: number): void {
    if (this.streams.has(id)) {
      this.warnings.push(`byte ${byte}: a second StreamHeader for stream id ${id}; ignored (the first one stands)`);
      return;
    }
    const root = parseXmlRoot(xml);
    if (typeof root === 'string') {
      this.warnings.push(`byte ${byte}: the StreamHeader of stream id ${id} is not well-formed XML (${root}); the stream is ignored`);
      return;
    }
    const fail = (detail: string): never => {
      throw new XdfFormatError(byte, `StreamHeader: ${detail}`, id, this.source);
    };
    const field = (name: string): string => {
      const v = childText(root, name);
      if (v === undefined) fail(`no <${name}>`);
      return v!;
    };
    const name = field('name');
    const type = field('type');
    const countText = field('channel_count');
    const channelCount = Number(countText);
    if (countText === '' || !Number.isInteger(channelCount) || channelCount < 0) fail(`<channel_count> must be a non-negative integer, found "${countText}"`);
    const rateText = field('nominal_srate');
    const nominalSrate = Number(rateText);
    if (rateText === '' || !Number.isFinite(nominalSrate) || nominalSrate < 0) fail(`<nominal_srate> must be a number >= 0, found "${rateText}"`);
    const format = field('channel_format');
    if (!isChannelFormat(format)) fail(`<channel_format> "${format}" is not one of float32, double64, string, int32, int16, int8, int64`);
    const desc = childElement(root, 'desc');
    const sync = childElement(desc, 'synchronization');
    const header: Header = {
      name,
      type,
      channelCount,
      channelFormat: format as ChannelFormat,
      nominalSrate,
      sourceId: childText(root, 'source_id') ?? '',
      channels: channelsOf(root.ownerDocument as Document),
      canDropSamples: (childText(sync, 'can_drop_samples') ?? '').toLowerCase() === 'true',
    };
    const s = new StreamBuilder(id, header, xml);
    this.streams.set(id, s);
    this.order.push(s);
  }

  private streamFooter(s: StreamBuilder, xml: string, byte: number): void {
    s.footerXml = xml;
    const root = parseXmlRoot(xml);
    if (typeof root === 'string') {
      this.warnings.push(`byte ${byte}: the StreamFooter of stream id ${s.id} is not well-formed XML (${root}); ignored`);
      return;
    }
    const num = (name: string): number | undefined => {
      const t = childText(root, name);
      if (t === undefined || t === '') return undefined;
      const v = Number(t);
      return Number.isFinite(v) ? v : undefined;
    };
    const clockOffsets: { time: number; value: number }[] = [];
    for (let n = childElement(root, 'clock_offsets')?.firstChild; n; n = n.nextSibling) {
      if (n.nodeName !== 'offset') continue;
      const time = Number(childText(n as Element, 'time'));
      const value = Number(childText(n as Element, 'value'));
      clockOffsets.push({ time, value });
    }
    s.footer = { firstTimestamp: num('first_timestamp'), lastTimestamp: num('last_timestamp'), sampleCount: num('sample_count'), clockOffsets };
  }

  finish(): XdfDocument {
    if (this.mode === Mode.Samples) {
      // (feed with eof always completes or abandons a chunk; kept for safety)
      this.cur?.rollback(this.rollbackCount, this.rollbackLast);
    }
    const warnings = this.warnings;
    if (!this.sawFileHeader) warnings.push('the file has no FileHeader chunk');
    for (const [id, o] of this.orphans) {
      warnings.push(`${o.chunks} chunk(s) of stream id ${id} (the first at byte ${o.first}) came without a StreamHeader for it before them; skipped`);
    }
    const o = this.options;
    const sync = o.synchronizeClocks ?? true;
    const streams = this.order.map((s) => this.postProcess(s, sync, warnings));
    return { version: this.version, headerXml: this.fileHeaderXml, datetime: this.datetime, streams, warnings };
  }

  private postProcess(s: StreamBuilder, sync: boolean, warnings: string[]): XdfStream {
    const o = this.options;
    const h = s.header;
    let n = s.count;
    let clockTimes: Float64Array = Float64Array.from(s.clockTimes);
    let clockValues: Float64Array = Float64Array.from(s.clockValues);
    if (sync && s.footer?.sampleCount !== undefined) {
      const footerCount = Math.trunc(s.footer.sampleCount);
      if (n > footerCount && clockTimes.length >= 3 && isCorruptedLastClockOffset(clockTimes, clockValues)) {
        warnings.push(
          `stream id ${s.id}: the last clock offset is an outlier and the stream has ${n} samples, more than the footer's ${footerCount}: ` + `dropped both (pylsl#67, liblsl#246), as pyxdf does`,
        );
        clockTimes = clockTimes.slice(0, -1);
        clockValues = clockValues.slice(0, -1);
        n = footerCount;
      }
    }
    let stamps: Float64Array = s.stamps.slice(0, n);
    let clockSegments: Segment[] = [];
    if (sync) {
      const r = synchronizeClock(stamps, clockTimes, clockValues, {
        handleClockResets: o.handleClockResets ?? true,
        thresholdSeconds: o.clockResetThresholdSeconds ?? 5,
        thresholdStds: o.clockResetThresholdStds ?? 5,
        thresholdOffsetSeconds: o.clockResetThresholdOffsetSeconds ?? 1,
        thresholdOffsetStds: o.clockResetThresholdOffsetStds ?? 10,
        winsorThreshold: o.winsorThreshold ?? 0.0001,
      });
      stamps = r.timeStamps;
      clockSegments = r.clockSegments;
      for (const w of r.warnings) warnings.push(`stream id ${s.id}: ${w}`);
    }
    let segments: Segment[];
    let effectiveSrate: number;
    if (o.dejitterTimestamps ?? true) {
      const r = dejitter(stamps, h.nominalSrate, {
        thresholdSeconds: o.jitterBreakThresholdSeconds ?? 1,
        thresholdSamples: o.jitterBreakThresholdSamples ?? 500,
        canDropSamples: h.canDropSamples,
      });
      stamps = r.timeStamps;
      segments = r.segments;
      effectiveSrate = r.effectiveSrate;
      if (n > 0 && h.nominalSrate > 0 && Math.abs(h.nominalSrate - effectiveSrate) / h.nominalSrate > 0.1) {
        warnings.push(`stream id ${s.id}: effective sampling rate ${effectiveSrate.toFixed(4)} Hz differs from the nominal ${h.nominalSrate} Hz by more than 10 %`);
      }
    } else {
      segments = n > 0 ? [[0, n - 1]] : [];
      effectiveSrate = plainEffectiveSrate(stamps, h.nominalSrate);
    }
    return {
      id: s.id,
      name: h.name,
      type: h.type,
      channelCount: h.channelCount,
      channelFormat: h.channelFormat,
      nominalSrate: h.nominalSrate,
      sourceId: h.sourceId,
      channels: h.channels,
      headerXml: s.headerXml,
      footerXml: s.footerXml,
      sampleCount: n,
      timeSeries: trimValues(s, n),
      timeStamps: stamps,
      clockTimes,
      clockValues,
      segments,
      clockSegments,
      effectiveSrate,
      footer: s.footer,
    };
  }
}

/** The values of the first `n` samples: a view when the unused reserve is small, else a copy. */
function trimValues(s: StreamBuilder, n: number): ValueArray {
  const len = n * s.header.channelCount;
  if (s.header.channelFormat === 'string') {
    const v = s.values as string[];
    if (v.length > len) v.length = len;
    return v;
  }
  const v = s.values as NumericArray;
  if (v.length - len <= len / 4) return v.subarray(0, len);
  return v.slice(0, len);
}

function childElement(parent: Element | undefined | null, name: string): Element | undefined {
  for (let n = parent?.firstChild; n; n = n.nextSibling) if (n.nodeName === name) return n as Element;
  return undefined;
}

/** The trimmed text of a child element; undefined when there is no such child. */
function childText(parent: Element | undefined | null, name: string): string | undefined {
  const el = childElement(parent, name);
  return el ? (el.textContent ?? '').trim() : undefined;
}
