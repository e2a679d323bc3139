import type { Chunk, Marker, StreamInfo } from '../../src/stream/types.js';

/**
 * One chunk of EEG as a compact binary frame, the payload of a NATS message on
 * `neurorx.eeg.<stream>.data`. All numbers little-endian.
 *
 *   byte  size  field
 *   0     4     magic "NRXE" (4e 52 58 45)
 *   4     1     format version (1)
 *   5     1     flags: bit 0 = per-sample timestamps present; other bits 0
 *   6     2     reserved, 0
 *   8     4     channel count (u32), must equal the stream's
 *   12    4     sample count n (u32), >= 1
 *   16    8     frame sequence number (u64, per stream, from 0, +1 per frame published or dropped)
 *   24    8     firstSample (u64): index of the first sample since the stream began
 *   32    8     time of the first sample, seconds (float64, finite)
 *   40    4     markers section length m in bytes (u32)
 *   44    4     reserved, 0
 *   48    8n    (flag bit 0 only) per-sample times, float64, finite
 *   ...   4nc   samples, float32, sample-major (interleaved) as Chunk.data
 *   ...   m     markers: UTF-8 JSON array of {"time","value","duration"} (m = 0: none)
 *
 * The timestamps come before the samples so that both arrays sit on their natural alignment. A
 * jump of firstSample beyond the previous frame's end is a gap (the sink dropped frames, or the
 * source itself lost samples); a jump of the sequence number says frames went missing in transit.
 */
export const FRAME_MAGIC = 0x4558524e; // "NRXE" read as a little-endian u32
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 48;
export const FLAG_TIMESTAMPS = 1;
/** Frames above this size are refused by default (a 64-channel chunk of 1 s at 1 kHz is 256 KB). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** What a frame carries besides the stream description (the decoder adds `info` and `receivedAt`). */
export interface DecodedFrame {
  readonly seq: number;
  readonly samples: number;
  readonly firstSample: number;
  readonly time: number;
  readonly data: Float32Array;
  readonly timestamps?: Float64Array;
  readonly markers: Marker[];
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Bytes a chunk takes as a frame, before its markers. */
function bodyBytes(samples: number, channels: number, timestamps: boolean): number {
  return FRAME_HEADER_BYTES + (timestamps ? 8 * samples : 0) + 4 * samples * channels;
}

/**
 * Encodes `chunk` as frame number `seq`. Writes into `out` when it is large enough (its first
 * bytes are returned as a view), else into a new array: a caller that hands the bytes to a client
 * which keeps them until sent (nats.js queues payloads by reference) must not pass the same `out`
 * twice.
 */
export function encodeFrame(chunk: Chunk, seq: number, out?: Uint8Array): Uint8Array {
  const channels = chunk.info.channels.length;
  const n = chunk.samples;
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`encodeFrame: sequence number ${seq} is not a non-negative integer`);
  if (!Number.isSafeInteger(chunk.firstSample) || chunk.firstSample < 0) throw new Error(`encodeFrame: firstSample ${chunk.firstSample} is not a non-negative integer`);
  if (n < 1 || chunk.data.length < n * channels) throw new Error(`encodeFrame: ${n} samples x ${channels} channels but ${chunk.data.length} values`);
  if (!Number.isFinite(chunk.time)) throw new Error(`encodeFrame: chunk time ${chunk.time} is not finite`);
  const markers = chunk.markers.length > 0 ? utf8.encode(JSON.stringify(chunk.markers.map((m) => ({ time: m.time, value: m.value, duration: m.duration })))) : undefined;
  const stamps = chunk.timestamps;
  const total = bodyBytes(n, channels, stamps !== undefined) + (markers?.length ?? 0);
  const bytes = out && out.length >= total ? out.subarray(0, total) : new Uint8Array(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, total);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint8(4, FRAME_VERSION);
  view.setUint8(5, stamps ? FLAG_TIMESTAMPS : 0);
  view.setUint16(6, 0, true);
  view.setUint32(8, channels, true);
  view.setUint32(12, n, true);
  view.setBigUint64(16, BigInt(seq), true);
  view.setBigUint64(24, BigInt(chunk.firstSample), true);
  view.setFloat64(32, chunk.time, true);
  view.setUint32(40, markers?.length ?? 0, true);
  view.setUint32(44, 0, true);
  let at = FRAME_HEADER_BYTES;
  if (stamps) {
    for (let i = 0; i < n; i++) view.setFloat64(at + 8 * i, stamps[i], true);
    at += 8 * n;
  }
  const values = n * channels;
  if (LITTLE_ENDIAN_HOST) bytes.set(new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, values * 4), at);
  else for (let i = 0; i < values; i++) view.setFloat32(at + 4 * i, chunk.data[i], true);
  at += 4 * values;
  if (markers) bytes.set(markers, at);
  return bytes;
}

/**
 * Decodes and checks a frame of the stream `info`. Throws an Error naming the field and its byte
 * offset at the first fault; never returns a frame with an unchecked field. The returned arrays
 * are copies (the message buffer may be reused by the client).
 */
export function decodeFrame(bytes: Uint8Array, info: StreamInfo, maxBytes = DEFAULT_MAX_FRAME_BYTES): DecodedFrame {
  const fail = (why: string): never => {
    throw new Error(`EEG frame (${bytes.length} bytes): ${why}`);
  };
  if (bytes.length > maxBytes) fail(`larger than the ${maxBytes}-byte limit`);
  if (bytes.length < FRAME_HEADER_BYTES) fail(`shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magic = view.getUint32(0, true);
  if (magic !== FRAME_MAGIC) fail(`bad magic 0x${magic.toString(16).padStart(8, '0')} at byte 0, expected "NRXE"`);
  const version = view.getUint8(4);
  if (version !== FRAME_VERSION) fail(`format version ${version} at byte 4, this reader knows version ${FRAME_VERSION}`);
  const flags = view.getUint8(5);
  if ((flags & ~FLAG_TIMESTAMPS) !== 0) fail(`unknown flag bits 0x${flags.toString(16)} at byte 5`);
  if (view.getUint16(6, true) !== 0) fail('reserved field at byte 6 is not 0');
  const channels = view.getUint32(8, true);
  if (channels !== info.channels.length) fail(`channel count ${channels} at byte 8, the stream "${info.name}" has ${info.channels.length}`);
  const n = view.getUint32(12, true);
  if (n < 1) fail('sample count 0 at byte 12');
  const seq = safeU64(view, 16, 'sequence number', fail);
  const firstSample = safeU64(view, 24, 'firstSample', fail);
  const time = view.getFloat64(32, true);
  if (!Number.isFinite(time)) fail(`time ${time} at byte 32 is not finite`);
  const markerBytes = view.getUint32(40, true);
  if (view.getUint32(44, true) !== 0) fail('reserved field at byte 44 is not 0');
  const hasStamps = (flags & FLAG_TIMESTAMPS) !== 0;
  const body = bodyBytes(n, channels, hasStamps);
  if (body + markerBytes !== bytes.length) {
    if (body > bytes.length) fail(`length mismatch: ${n} samples x ${channels} channels${hasStamps ? ' with timestamps' : ''} need ${body} bytes before the markers, the frame has ${bytes.length}`);
    fail(
      `length mismatch: markers section of ${markerBytes} bytes (byte 40) ${body + markerBytes > bytes.length ? 'overruns' : 'does not reach'} the end of the frame at ${bytes.length} (it starts at byte ${body})`,
    );
  }
  let at = FRAME_HEADER_BYTES;
  let timestamps: Float64Array | undefined;
  if (hasStamps) {
    timestamps = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = view.getFloat64(at + 8 * i, true);
      if (!Number.isFinite(t)) fail(`timestamp ${i} (${t}) at byte ${at + 8 * i} is not finite`);
      timestamps[i] = t;
    }
    at += 8 * n;
  }
  const values = n * channels;
  let data: Float32Array;
  if (LITTLE_ENDIAN_HOST) {
    data = new Float32Array(values);
    new Uint8Array(data.buffer).set(bytes.subarray(at, at + 4 * values));
  } else {
    data = new Float32Array(values);
    for (let i = 0; i < values; i++) data[i] = view.getFloat32(at + 4 * i, true);
  }
  at += 4 * values;
  const markers = markerBytes > 0 ? decodeMarkers(bytes.subarray(at, at + markerBytes), at, fail) : [];
  return { seq, samples: n, firstSample, time, data, ...(timestamps ? { timestamps } : {}), markers };
}

function safeU64(view: DataView, offset: number, field: string, fail: (why: string) => never): number {
  const v = view.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${field} ${v} at byte ${offset} is beyond 2^53`);
  return Number(v);
}

function decodeMarkers(section: Uint8Array, offset: number, fail: (why: string) => never): Marker[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Strict.decode(section));
  } catch (e) {
    return fail(`markers section at byte ${offset}: not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) return fail(`markers section at byte ${offset}: not a JSON array`);
  return parsed.map((m: unknown, i): Marker => {
    const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    const { time, value, duration } = o;
    if (typeof time !== 'number' || !Number.isFinite(time)) fail(`markers section at byte ${offset}: marker ${i} has no finite "time"`);
    if (typeof value !== 'string') fail(`markers section at byte ${offset}: marker ${i} has no string "value"`);
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) fail(`markers section at byte ${offset}: marker ${i} has no finite "duration" >= 0`);
    return { time, value, duration };
  });
}
