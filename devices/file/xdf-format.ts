/**
 * The XDF container (Extensible Data Format, LSL's recording format as LabRecorder writes it),
 * specification 1.0: https://github.com/sccn/xdf/wiki/Specifications
 *
 *   file    := "XDF:" chunk*
 *   chunk   := NumLengthBytes (uint8: 1, 4 or 8) Length (that many bytes, little-endian: bytes of
 *              tag + content) Tag (uint16) content
 *   content := FileHeader:   XML
 *              StreamHeader: StreamId (uint32) XML (the stream's LSL info document)
 *              Samples:      StreamId (uint32) NumSamples (varlen) sample*
 *              ClockOffset:  StreamId (uint32) CollectionTime (float64) OffsetValue (float64)
 *              Boundary:     the 16 bytes of BOUNDARY_UUID
 *              StreamFooter: StreamId (uint32) XML (first/last timestamp, sample count, clock offsets)
 *   sample  := TimeStampBytes (uint8: 0 or 8) [TimeStamp (float64)] values
 *   values  := numeric formats: channel_count raw little-endian values;
 *              string: per channel a varlen length then that many UTF-8 bytes
 *   varlen  := NumBytes (uint8: 1, 4 or 8) then the value in that many bytes, little-endian
 * A sample without a timestamp is one nominal period after the previous one (readers deduce it).
 */
export const XDF_MAGIC = Buffer.from('XDF:', 'latin1');

export const XdfTag = {
  FileHeader: 1,
  StreamHeader: 2,
  Samples: 3,
  ClockOffset: 4,
  Boundary: 5,
  StreamFooter: 6,
} as const;
export type XdfTag = (typeof XdfTag)[keyof typeof XdfTag];

/** The content of every Boundary chunk: a fixed UUID a reader can scan for to resynchronise. */
export const BOUNDARY_UUID = Buffer.from([0x43, 0xa5, 0x46, 0xdc, 0xcb, 0xf5, 0x41, 0x0f, 0xb3, 0x0e, 0xd5, 0x46, 0x73, 0x83, 0xcb, 0xe4]);

/** Bytes a varlen number takes: its 1-byte size prefix plus 1, 4 or 8 bytes. */
export function varlenSize(value: number): number {
  return value <= 0xff ? 2 : value <= 0xffffffff ? 5 : 9;
}

/** Writes `value` (a non-negative integer) as a varlen number at `at`; returns the offset after it. */
export function writeVarlen(buf: Buffer, at: number, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`varlen value must be a non-negative integer, got ${value}`);
  if (value <= 0xff) {
    buf[at] = 1;
    buf[at + 1] = value;
    return at + 2;
  }
  if (value <= 0xffffffff) {
    buf[at] = 4;
    buf.writeUInt32LE(value, at + 1);
    return at + 5;
  }
  buf[at] = 8;
  buf.writeBigUInt64LE(BigInt(value), at + 1);
  return at + 9;
}

/** A chunk's header (length prefix, length, tag) for `contentBytes` bytes of content. */
export function chunkHeader(tag: XdfTag, contentBytes: number): Buffer {
  const length = contentBytes + 2; // the tag counts in the length
  const head = Buffer.allocUnsafe(varlenSize(length) + 2);
  const at = writeVarlen(head, 0, length);
  head.writeUInt16LE(tag, at);
  return head;
}

/**
 * The types (and names) of the streams in which a neurorx session recording keeps its own record:
 * the decisions (WebSocket messages as JSON), the session log (config, models, controls) and the
 * live chunking of the signal. They are neither markers nor signals.
 */
export const NEURORX_DECISIONS_STREAM = 'neurorx-decisions';
export const NEURORX_SESSION_STREAM = 'neurorx-session';
export const NEURORX_CHUNKS_STREAM = 'neurorx-chunks';
