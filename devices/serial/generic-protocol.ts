import { z } from 'zod';

/**
 * Home-made amplifiers (Arduino and similar) described by a JSON config instead of code:
 * - "ascii": one sample per text line, fields split by `separator`; each channel names its
 *   `column` and a `scale` (and `offset`) to its unit. Lines that do not parse are counted as
 *   garbage and skipped.
 * - "binary": fixed frames: `header` bytes, an optional sample `counter` (1 or 2 bytes, wrapping),
 *   the channels as `sampleType` values in `endian` order, and an optional one-byte `checksum`
 *   (xor or sum of the bytes after the header). A frame whose checksum fails is skipped byte by
 *   byte until the next header (the skipped bytes count as garbage); a counter jump counts drops,
 *   a repeated counter a duplicate (packet-counter.ts).
 * Frames have a fixed length (at most 16 header bytes, MAX_CHANNELS channels), so nothing a device
 * sends makes the decoder keep more than one frame; an ASCII line longer than MAX_LINE is garbage.
 */
/** Channels a device config may declare: frames (and what a device can make us buffer) stay small. */
export const MAX_CHANNELS = 1024;

const channel = z
  .object({
    label: z.string().min(1),
    scale: z.number().default(1).describe('value x scale + offset = the channel in `unit`'),
    offset: z.number().default(0),
    unit: z.string().default('uV'),
    type: z.enum(['eeg', 'emg', 'eog', 'ecg', 'misc']).default('eeg'),
  })
  .strict();

const common = {
  name: z.string().min(1).default('serial device'),
  rate: z.number().positive().describe('nominal sampling rate, Hz'),
  baudRate: z.number().int().positive().default(115200),
  start: z.string().optional().describe('text sent after opening to start streaming'),
  stop: z.string().optional().describe('text sent before closing'),
};

export const asciiProtocolSchema = z
  .object({
    format: z.literal('ascii'),
    ...common,
    separator: z.string().min(1).default(','),
    commentPrefix: z.string().default('#'),
    channels: z
      .array(channel.extend({ column: z.number().int().min(0) }).strict())
      .min(1)
      .max(MAX_CHANNELS),
  })
  .strict();

export const binaryProtocolSchema = z
  .object({
    format: z.literal('binary'),
    ...common,
    header: z.array(z.number().int().min(0).max(255)).min(1).max(16).describe('bytes that start every frame, e.g. [170, 85]'),
    counter: z
      .object({ bytes: z.union([z.literal(1), z.literal(2)]) })
      .strict()
      .optional(),
    sampleType: z.enum(['int16', 'uint16', 'int24', 'int32', 'float32']),
    endian: z.enum(['little', 'big']).default('little'),
    checksum: z.enum(['none', 'xor', 'sum8']).default('none'),
    channels: z.array(channel).min(1).max(MAX_CHANNELS),
  })
  .strict();

export const genericProtocolSchema = z.discriminatedUnion('format', [asciiProtocolSchema, binaryProtocolSchema]);
export type GenericProtocol = z.infer<typeof genericProtocolSchema>;
export type AsciiProtocol = z.infer<typeof asciiProtocolSchema>;
export type BinaryProtocol = z.infer<typeof binaryProtocolSchema>;

export interface FrameDecoder {
  /** Bytes that belonged to no sample. */
  readonly garbageBytes: number;
  /** Bytes kept for a line or frame not yet complete. */
  readonly buffered: number;
  push(bytes: Buffer, onSample: (values: Float32Array, counter?: number) => void): void;
  /** Forgets a half-received line or frame (the port was reopened); the garbage count stays. */
  reset(): void;
}

/** Longest line an ASCII device may send (characters before the newline); longer ones are garbage. */
export const MAX_LINE = 4096;

export class AsciiDecoder implements FrameDecoder {
  garbageBytes = 0;
  private text = '';
  /** Inside a line longer than MAX_LINE: skipped to its newline. */
  private discarding = false;
  private readonly row: Float32Array;

  constructor(private readonly p: AsciiProtocol) {
    this.row = new Float32Array(p.channels.length);
  }

  get buffered(): number {
    return this.text.length;
  }

  reset(): void {
    this.text = '';
    this.discarding = false;
  }

  push(bytes: Buffer, onSample: (values: Float32Array) => void): void {
    const text = this.text + bytes.toString('latin1');
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (this.discarding || line.length > MAX_LINE) {
        this.discarding = false;
        this.garbageBytes += line.length + 1;
        continue;
      }
      this.parseLine(line.replace(/\r$/, ''), line.length + 1, onSample);
    }
    const rest = text.slice(start);
    if (this.discarding || rest.length > MAX_LINE) {
      // no line end in sight: the line is too long to be this protocol's; skip it to its end
      this.discarding = true;
      this.garbageBytes += rest.length;
      this.text = '';
    } else {
      this.text = rest;
    }
  }

  private parseLine(line: string, bytes: number, onSample: (values: Float32Array) => void): void {
    if (line.trim() === '' || (this.p.commentPrefix !== '' && line.startsWith(this.p.commentPrefix))) return;
    const fields = line.split(this.p.separator);
    let ok = true;
    this.p.channels.forEach((ch, c) => {
      const field = fields[ch.column];
      const v = Number(field);
      if (field === undefined || field.trim() === '' || !Number.isFinite(v)) ok = false;
      this.row[c] = v * ch.scale + ch.offset;
    });
    if (ok) onSample(this.row);
    else this.garbageBytes += bytes;
  }
}

const TYPE_BYTES = { int16: 2, uint16: 2, int24: 3, int32: 4, float32: 4 } as const;

export class BinaryDecoder implements FrameDecoder {
  garbageBytes = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly frameBytes: number;
  private readonly row: Float32Array;

  constructor(private readonly p: BinaryProtocol) {
    this.frameBytes = p.header.length + (p.counter?.bytes ?? 0) + p.channels.length * TYPE_BYTES[p.sampleType] + (p.checksum === 'none' ? 0 : 1);
    this.row = new Float32Array(p.channels.length);
  }

  get buffered(): number {
    return this.pending.length;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }

  push(bytes: Buffer, onSample: (values: Float32Array, counter?: number) => void): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    const p = this.p;
    const size = TYPE_BYTES[p.sampleType];
    const little = p.endian === 'little';
    let i = 0;
    while (buf.length - i >= this.frameBytes) {
      if (!this.headerAt(buf, i) || !this.checksumOk(buf, i)) {
        this.garbageBytes++;
        i++;
        continue;
      }
      let at = i + p.header.length;
      let counter: number | undefined;
      if (p.counter) {
        counter = p.counter.bytes === 1 ? buf[at] : little ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
        at += p.counter.bytes;
      }
      p.channels.forEach((ch, c) => {
        const o = at + c * size;
        let v: number;
        switch (p.sampleType) {
          case 'int16':
            v = little ? buf.readInt16LE(o) : buf.readInt16BE(o);
            break;
          case 'uint16':
            v = little ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
            break;
          case 'int24':
            v = little ? buf.readIntLE(o, 3) : buf.readIntBE(o, 3);
            break;
          case 'int32':
            v = little ? buf.readInt32LE(o) : buf.readInt32BE(o);
            break;
          case 'float32':
            v = little ? buf.readFloatLE(o) : buf.readFloatBE(o);
            break;
        }
        this.row[c] = v * ch.scale + ch.offset;
      });
      onSample(this.row, counter);
      i += this.frameBytes;
    }
    this.pending = Buffer.from(buf.subarray(i));
  }

  private headerAt(buf: Buffer, i: number): boolean {
    for (let k = 0; k < this.p.header.length; k++) if (buf[i + k] !== this.p.header[k]) return false;
    return true;
  }

  private checksumOk(buf: Buffer, i: number): boolean {
    if (this.p.checksum === 'none') return true;
    const from = i + this.p.header.length;
    const end = i + this.frameBytes - 1;
    let x = 0;
    for (let k = from; k < end; k++) x = this.p.checksum === 'xor' ? x ^ buf[k] : (x + buf[k]) & 0xff;
    return x === buf[end];
  }
}

/** Encodes one binary frame (for simulators and tests). */
export function encodeBinaryFrame(p: BinaryProtocol, raw: ArrayLike<number>, counter = 0): Buffer {
  const size = TYPE_BYTES[p.sampleType];
  const little = p.endian === 'little';
  const body = Buffer.alloc((p.counter?.bytes ?? 0) + p.channels.length * size);
  let at = 0;
  if (p.counter) {
    if (p.counter.bytes === 1) body[at] = counter & 0xff;
    else if (little) body.writeUInt16LE(counter & 0xffff, at);
    else body.writeUInt16BE(counter & 0xffff, at);
    at += p.counter.bytes;
  }
  for (let c = 0; c < p.channels.length; c++, at += size) {
    const v = raw[c];
    switch (p.sampleType) {
      case 'int16':
        if (little) body.writeInt16LE(v, at);
        else body.writeInt16BE(v, at);
        break;
      case 'uint16':
        if (little) body.writeUInt16LE(v, at);
        else body.writeUInt16BE(v, at);
        break;
      case 'int24':
        if (little) body.writeIntLE(v, at, 3);
        else body.writeIntBE(v, at, 3);
        break;
      case 'int32':
        if (little) body.writeInt32LE(v, at);
        else body.writeInt32BE(v, at);
        break;
      case 'float32':
        if (little) body.writeFloatLE(v, at);
        else body.writeFloatBE(v, at);
        break;
    }
  }
  let sum = 0;
  for (const b of body) sum = p.checksum === 'xor' ? sum ^ b : (sum + b) & 0xff;
  return Buffer.concat([Buffer.from(p.header), body, p.checksum === 'none' ? Buffer.alloc(0) : Buffer.from([sum])]);
}
