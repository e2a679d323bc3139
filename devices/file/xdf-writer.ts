import { closeSync, fdatasync, fdatasyncSync, openSync, writevSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { FORMAT_BYTES, type ChannelFormat } from '../lsl/channel-format.js';
import type { NumericArray, ValueArray } from '../lsl/sample-codec.js';
import { channelsDescXml, infoToXml, type LslChannelDesc } from '../lsl/stream-info.js';
import { BOUNDARY_UUID, chunkHeader, varlenSize, writeVarlen, XDF_MAGIC, XdfTag } from './xdf-format.js';

/** What a stream of an XDF file is: its header (an LSL stream info) is made from this. */
export interface XdfStreamSpec {
  readonly name: string;
  readonly type: string;
  readonly channelFormat: ChannelFormat;
  /** Channel descriptions (label, unit, type); their number is the channel count. */
  readonly channels: readonly LslChannelDesc[];
  /** Hz; 0 for irregular streams (markers, decisions). */
  readonly nominalSrate: number;
  readonly sourceId?: string;
  /** More XML inside `<desc>`, after `<channels>`. */
  readonly descXml?: string;
}

export interface XdfWriterOptions {
  /** Buffered samples reach the file at least this often (ms). Default 1000. */
  flushIntervalMs?: number;
  /** A boundary chunk (and an fdatasync) at least this often (ms). Default 10 000, as LabRecorder. */
  boundaryIntervalMs?: number;
  /** Replace an existing file; by default an existing file is an error (a recording is never overwritten). */
  overwrite?: boolean;
  /**
   * Called when a periodic flush fails (disk full, file system gone): the writer stops (later calls
   * are ignored) and never throws from its timer. Without it the error is kept in `error`.
   */
  onError?: (error: Error) => void;
}

interface StreamState {
  readonly id: number;
  readonly spec: XdfStreamSpec;
  readonly channels: number;
  /** Encoded samples waiting for the next flush. */
  pending: Buffer;
  pendingBytes: number;
  pendingSamples: number;
  /** Timestamp of the last sample encoded (for deduction), NaN before the first. */
  last: number;
  first: number;
  count: number;
  readonly offsets: { time: number; value: number }[];
}

/**
 * Writes an XDF file as samples arrive, so that a killed process leaves a readable file: the
 * header chunks go out at once, samples are written at least every `flushIntervalMs` (one Samples
 * chunk per stream per flush, as LabRecorder does), a Boundary chunk and an fdatasync follow every
 * `boundaryIntervalMs`, and `close` adds each stream's footer. Everything written is in the
 * operating system's hands at once (a SIGKILL loses nothing written; the fdatasync covers power loss
 * up to the last boundary).
 *
 * A timestamp is left out (deduced by readers as previous + 1/rate) only when that deduction gives
 * exactly the same double, so the file reads back with the very timestamps pushed; the first sample
 * of every chunk carries its timestamp.
 */
export class XdfWriter {
  private readonly fd: number;
  private readonly streams: StreamState[] = [];
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastBoundary = Date.now();
  private closed = false;
  private readonly boundaryIntervalMs: number;
  private bytesWritten = 0;
  /** Why the writer stopped, when a write failed. */
  error: Error | undefined;

  constructor(
    readonly path: string,
    options: XdfWriterOptions = {},
  ) {
    const flushMs = options.flushIntervalMs ?? 1000;
    this.boundaryIntervalMs = options.boundaryIntervalMs ?? 10_000;
    if (!(flushMs > 0)) throw new RangeError(`flushIntervalMs must be positive, got ${flushMs}`);
    this.fd = openSync(path, options.overwrite ? 'w' : 'wx');
    const header = `<?xml version="1.0"?>\n<info>\n\t<version>1.0</version>\n\t<datetime>${new Date().toISOString()}</datetime>\n\t<writer>neurorx</writer>\n</info>\n`;
    this.queue.push(XDF_MAGIC, ...xmlChunk(XdfTag.FileHeader, undefined, header));
    this.writeQueued('no');
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (e) {
        this.fail(e as Error);
        options.onError?.(e as Error);
      }
    }, flushMs);
    this.timer.unref();
  }

  /** Bytes in the file so far. */
  get size(): number {
    return this.bytesWritten;
  }

  /** Adds a stream (its header is written at once); returns its stream id. */
  addStream(spec: XdfStreamSpec): number {
    this.assertOpen();
    if (spec.channels.length < 1) throw new RangeError(`stream "${spec.name}": at least one channel is needed`);
    if (!(spec.nominalSrate >= 0)) throw new RangeError(`stream "${spec.name}": nominal rate must be >= 0, got ${spec.nominalSrate}`);
    const id = this.streams.length + 1;
    const xml = infoToXml({
      name: spec.name,
      type: spec.type,
      channelCount: spec.channels.length,
      channelFormat: spec.channelFormat,
      sourceId: spec.sourceId ?? '',
      nominalSrate: spec.nominalSrate,
      version: 110,
      createdAt: 0,
      uid: randomUUID(),
      sessionId: 'default',
      hostname: hostname(),
      v4address: '',
      v4dataPort: 0,
      v4servicePort: 0,
      v6address: '',
      v6dataPort: 0,
      v6servicePort: 0,
      descXml: channelsDescXml(spec.channels, spec.descXml ?? ''),
    });
    this.streams.push({ id, spec, channels: spec.channels.length, pending: Buffer.allocUnsafe(4096), pendingBytes: 0, pendingSamples: 0, last: NaN, first: NaN, count: 0, offsets: [] });
    this.queue.push(...xmlChunk(XdfTag.StreamHeader, id, xml));
    this.writeQueued('no');
    return id;
  }

  /**
   * Appends `count` samples of stream `id`, from sample `from` of `values` (sample-major, the
   * stream's format: a typed array of that format, a Float32Array for any numeric format, or
   * strings), with one timestamp per sample in `timestamps` (indexed like the samples).
   */
  push(id: number, values: ValueArray | Float32Array, timestamps: ArrayLike<number>, from = 0, count = timestamps.length - from): void {
    this.assertOpen();
    const s = this.stream(id);
    const nCh = s.channels;
    if ((values as ArrayLike<unknown>).length < (from + count) * nCh) {
      throw new RangeError(`stream "${s.spec.name}": ${count} samples of ${nCh} channels from sample ${from} need ${(from + count) * nCh} values, got ${(values as ArrayLike<unknown>).length}`);
    }
    if (timestamps.length < from + count) throw new RangeError(`stream "${s.spec.name}": ${count} samples from sample ${from} need ${from + count} timestamps, got ${timestamps.length}`);
    for (let i = from; i < from + count; i++) {
      const sampleStart = s.pendingBytes;
      try {
        this.encodeSample(s, values, timestamps[i], i);
      } catch (e) {
        s.pendingBytes = sampleStart; // a value out of the format's range: nothing of that sample stays
        throw new RangeError(`stream "${s.spec.name}" sample ${i}: ${(e as Error).message}`);
      }
    }
  }

  /** Encodes sample `i` of `values` with timestamp `t` into the stream's pending bytes. */
  private encodeSample(s: StreamState, values: ValueArray | Float32Array, t: number, i: number): void {
    const nCh = s.channels;
    const rate = s.spec.nominalSrate;
    const format = s.spec.channelFormat;
    const deduced = s.pendingSamples > 0 && rate > 0 && s.last + 1 / rate === t;
    if (format === 'string') {
      const texts: Buffer[] = [];
      let bytes = deduced ? 1 : 9;
      for (let c = 0; c < nCh; c++) {
        const b = Buffer.from(String((values as string[])[i * nCh + c] ?? ''), 'utf8');
        texts.push(b);
        bytes += varlenSize(b.length) + b.length;
      }
      let at = this.reserve(s, bytes);
      at = writeTimestamp(s.pending, at, deduced, t);
      for (const b of texts) {
        at = writeVarlen(s.pending, at, b.length);
        b.copy(s.pending, at);
        at += b.length;
      }
    } else {
      const size = FORMAT_BYTES[format];
      let at = this.reserve(s, (deduced ? 1 : 9) + nCh * size);
      at = writeTimestamp(s.pending, at, deduced, t);
      writeValues(s.pending, at, format, values as NumericArray | Float32Array, i * nCh, nCh);
    }
    s.pendingSamples++;
    if (s.count === 0) s.first = t;
    s.last = t;
    s.count++;
  }

  /** Records a clock offset measurement of stream `id` (LSL's time_correction: remote + offset = local). */
  clockOffset(id: number, collectionTime: number, offset: number): void {
    this.assertOpen();
    const s = this.stream(id);
    s.offsets.push({ time: collectionTime, value: offset });
    this.flushSamples(s);
    const body = Buffer.allocUnsafe(20);
    body.writeUInt32LE(id, 0);
    body.writeDoubleLE(collectionTime, 4);
    body.writeDoubleLE(offset, 12);
    this.queue.push(chunkHeader(XdfTag.ClockOffset, body.length), body);
  }

  /** Writes every buffered sample now (and a boundary chunk when one is due). */
  flush(): void {
    if (this.closed) return;
    for (const s of this.streams) this.flushSamples(s);
    const boundary = Date.now() - this.lastBoundary >= this.boundaryIntervalMs;
    if (boundary) {
      this.queue.push(chunkHeader(XdfTag.Boundary, BOUNDARY_UUID.length), BOUNDARY_UUID);
      this.lastBoundary = Date.now();
    }
    this.writeQueued(boundary ? 'background' : 'no');
  }

  /** Flushes, writes every stream's footer and closes the file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    clearInterval(this.timer);
    for (const s of this.streams) {
      const offsets = s.offsets.map((o) => `\t\t<offset><time>${o.time}</time><value>${o.value}</value></offset>\n`).join('');
      const xml =
        '<?xml version="1.0"?>\n<info>\n' +
        (s.count > 0 ? `\t<first_timestamp>${s.first}</first_timestamp>\n\t<last_timestamp>${s.last}</last_timestamp>\n` : '') +
        `\t<sample_count>${s.count}</sample_count>\n` +
        (offsets ? `\t<clock_offsets>\n${offsets}\t</clock_offsets>\n` : '\t<clock_offsets />\n') +
        '</info>\n';
      this.queue.push(...xmlChunk(XdfTag.StreamFooter, s.id, xml));
    }
    this.writeQueued('now');
    this.closed = true;
    closeSync(this.fd);
  }

  private stream(id: number): StreamState {
    const s = this.streams[id - 1];
    if (!s) throw new RangeError(`no stream with id ${id} (this file has ${this.streams.length})`);
    return s;
  }

  private assertOpen(): void {
    if (this.error) throw new Error(`${this.path}: writing failed earlier: ${this.error.message}`);
    if (this.closed) throw new Error(`${this.path}: the XDF file is closed`);
  }

  /** Stops after a failed write: the file keeps what reached it; the descriptor is released. */
  private fail(e: Error): void {
    this.error = e;
    this.closed = true;
    clearInterval(this.timer);
    try {
      closeSync(this.fd);
    } catch {
      // already unusable
    }
  }

  /** Makes room for `bytes` more in the stream's pending buffer; returns where to write them. */
  private reserve(s: StreamState, bytes: number): number {
    const need = s.pendingBytes + bytes;
    if (need > s.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, s.pending.length * 2));
      s.pending.copy(grown, 0, 0, s.pendingBytes);
      s.pending = grown;
    }
    const at = s.pendingBytes;
    s.pendingBytes = need;
    return at;
  }

  /** Moves a stream's pending samples into one Samples chunk on the write queue. */
  private flushSamples(s: StreamState): void {
    if (s.pendingSamples === 0) return;
    const head = Buffer.allocUnsafe(4 + varlenSize(s.pendingSamples));
    head.writeUInt32LE(s.id, 0);
    writeVarlen(head, 4, s.pendingSamples);
    const body = Buffer.from(s.pending.subarray(0, s.pendingBytes));
    this.queue.push(chunkHeader(XdfTag.Samples, head.length + body.length), head, body);
    s.pendingBytes = 0;
    s.pendingSamples = 0;
  }

  private writeQueued(sync: 'no' | 'background' | 'now'): void {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 1024);
      let total = batch.reduce((n, b) => n + b.length, 0);
      // writev may write less than asked: continue from where it stopped.
      let parts = batch;
      while (total > 0) {
        const n = writevSync(this.fd, parts);
        this.bytesWritten += n;
        total -= n;
        parts = dropBytes(parts, n);
      }
    }
    if (sync === 'now') fdatasyncSync(this.fd);
    else if (sync === 'background') fdatasync(this.fd, () => {}); // off the event loop; a failure shows at the next write
  }
}

function dropBytes(parts: Buffer[], n: number): Buffer[] {
  let k = 0;
  while (k < parts.length && n >= parts[k].length) n -= parts[k++].length;
  if (k === parts.length) return [];
  return [parts[k].subarray(n), ...parts.slice(k + 1)];
}

function xmlChunk(tag: XdfTag, id: number | undefined, xml: string): Buffer[] {
  const text = Buffer.from(xml, 'utf8');
  if (id === undefined) return [chunkHeader(tag, text.length), text];
  const sid = Buffer.allocUnsafe(4);
  sid.writeUInt32LE(id, 0);
  return [chunkHeader(tag, 4 + text.length), sid, text];
}

function writeTimestamp(buf: Buffer, at: number, deduced: boolean, t: number): number {
  if (deduced) {
    buf[at] = 0;
    return at + 1;
  }
  buf[at] = 8;
  buf.writeDoubleLE(t, at + 1);
  return at + 9;
}

/** Writes `n` values from `src[start..]` in `format` (little-endian), converting when the array type differs. */
function writeValues(buf: Buffer, at: number, format: ChannelFormat, src: NumericArray | Float32Array, start: number, n: number): void {
  const native =
    (format === 'float32' && src instanceof Float32Array) ||
    (format === 'double64' && src instanceof Float64Array) ||
    (format === 'int32' && src instanceof Int32Array) ||
    (format === 'int16' && src instanceof Int16Array) ||
    (format === 'int8' && src instanceof Int8Array) ||
    (format === 'int64' && src instanceof BigInt64Array);
  if (native) {
    const size = src.BYTES_PER_ELEMENT;
    buf.set(new Uint8Array(src.buffer, src.byteOffset + start * size, n * size), at);
    return;
  }
  for (let c = 0; c < n; c++) {
    const v = src[start + c];
    switch (format) {
      case 'float32':
        buf.writeFloatLE(Number(v), at + 4 * c);
        break;
      case 'double64':
        buf.writeDoubleLE(Number(v), at + 8 * c);
        break;
      case 'int32':
        buf.writeInt32LE(Math.round(Number(v)), at + 4 * c);
        break;
      case 'int16':
        buf.writeInt16LE(Math.round(Number(v)), at + 2 * c);
        break;
      case 'int8':
        buf.writeInt8(Math.round(Number(v)), at + c);
        break;
      case 'int64':
        buf.writeBigInt64LE(typeof v === 'bigint' ? v : BigInt(Math.round(v)), at + 8 * c);
        break;
      case 'string':
        throw new Error('unreachable');
    }
  }
}
