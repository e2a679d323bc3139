import { isStopByte, PACKET_BYTES, readInt24BE, START_BYTE, type CytonPacket } from './cyton-protocol.js';

/**
 * Cuts the Cyton byte stream into packets and finds its way back after garbage: a packet is a start
 * byte followed 32 bytes later by a stop byte; while resynchronising, the byte after a candidate
 * must also be a start byte (the candidate waits for it), so that 0xA0 inside channel data is not
 * mistaken for a packet start. Bytes that belong to no packet are counted, not guessed at; at most
 * one packet's bytes (plus one) are kept between pushes.
 */
export class CytonFramer {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes skipped because they were not part of a packet. */
  garbageBytes = 0;
  // a stream is taken to begin at a packet boundary until a byte says otherwise
  private inSync = true;

  /** Bytes kept for a packet not yet complete (or not yet confirmed): at most PACKET_BYTES. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Forgets a half-received packet (the port was reopened); the garbage count stays. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.inSync = true;
  }

  push(bytes: Buffer, onPacket: (p: CytonPacket) => void): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    let i = 0;
    while (buf.length - i >= PACKET_BYTES) {
      if (buf[i] === START_BYTE && isStopByte(buf[i + PACKET_BYTES - 1])) {
        // out of sync, also insist on the next start byte: wait for it, so that where the bytes
        // were split never changes what is taken for a packet
        const next = i + PACKET_BYTES;
        if (!this.inSync && next >= buf.length) break;
        if (this.inSync || buf[next] === START_BYTE) {
          onPacket(decode(buf, i));
          this.inSync = true;
          i += PACKET_BYTES;
          continue;
        }
      }
      this.inSync = false;
      this.garbageBytes++;
      i++;
    }
    buf = buf.subarray(i);
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}

function decode(buf: Buffer, at: number): CytonPacket {
  const counts = new Int32Array(8);
  for (let c = 0; c < 8; c++) counts[c] = readInt24BE(buf, at + 2 + 3 * c);
  return { counter: buf[at + 1], counts, aux: Uint8Array.from(buf.subarray(at + 26, at + 32)), stop: buf[at + 32] };
}
