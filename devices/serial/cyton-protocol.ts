/**
 * The OpenBCI Cyton serial protocol (115200 baud over the USB dongle), as documented by OpenBCI
 * ("Cyton Data Format", "Cyton SDK") and decoded by BrainFlow:
 * - a 33-byte packet per sample: 0xA0, sample counter (0-255), 8 channels x 24-bit big-endian two's
 *   complement, 6 aux bytes (3 x int16 big-endian accelerometer when the stop byte is 0xC0), and a
 *   stop byte 0xC0-0xC6 (its low nibble says what the aux bytes hold);
 * - microvolts per count = 4.5 V / gain / (2^23 - 1) x 1e6 (the ADS1299's 4.5 V reference, gain 24
 *   by default);
 * - Cyton + Daisy: 16 channels at 125 Hz, sent as two packets per sample: an even counter carries the
 *   Daisy's channels 9-16, the following odd counter the Cyton's channels 1-8;
 * - commands are single ASCII characters: 'b' start streaming, 's' stop, 'v' soft reset (the board
 *   answers with its identification ending in "$$$"), 'd' default channel settings, 'C'/'c' 16/8
 *   channels, and "x<ch><power><gain><input><bias><srb2><srb1>X" to configure a channel.
 */
export const START_BYTE = 0xa0;
export const PACKET_BYTES = 33;
export const CYTON_RATE = 250;
export const BAUD_RATE = 115200;

/** Gain codes of the channel-settings command ('0'..'6'). */
export const GAINS: readonly number[] = [1, 2, 4, 6, 8, 12, 24];
/** Channel characters of the channel-settings command, channels 1-16. */
export const CHANNEL_CHARS = '12345678QWERTYUI';

export function isStopByte(b: number): boolean {
  return (b & 0xf0) === 0xc0 && (b & 0x0f) <= 6;
}

export function microvoltsPerCount(gain: number): number {
  return (4.5 / gain / (2 ** 23 - 1)) * 1e6;
}

export interface CytonPacket {
  readonly counter: number;
  /** 8 raw channel values (ADC counts). */
  readonly counts: Int32Array;
  readonly aux: Uint8Array;
  readonly stop: number;
}

export function readInt24BE(buf: Uint8Array, at: number): number {
  const v = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
  return (v << 8) >> 8;
}

export function encodePacket(counter: number, counts: ArrayLike<number>, aux: ArrayLike<number> = [0, 0, 0, 0, 0, 0], stop = 0xc0): Buffer {
  const out = Buffer.alloc(PACKET_BYTES);
  out[0] = START_BYTE;
  out[1] = counter & 0xff;
  for (let c = 0; c < 8; c++) {
    const v = Math.max(-(2 ** 23), Math.min(2 ** 23 - 1, Math.round(counts[c] ?? 0))) & 0xffffff;
    out[2 + 3 * c] = (v >> 16) & 0xff;
    out[3 + 3 * c] = (v >> 8) & 0xff;
    out[4 + 3 * c] = v & 0xff;
  }
  for (let i = 0; i < 6; i++) out[26 + i] = aux[i] ?? 0;
  out[32] = stop;
  return out;
}

/** Channel-settings command for channel `channel` (1-16) with a gain from GAINS. */
export function channelSettingsCommand(channel: number, gain: number, opts: { powerDown?: boolean; input?: number; bias?: boolean; srb2?: boolean; srb1?: boolean } = {}): string {
  const code = GAINS.indexOf(gain);
  if (code < 0) throw new Error(`Cyton gain ${gain} is not one of ${GAINS.join(', ')}`);
  if (!Number.isInteger(channel) || channel < 1 || channel > 16) throw new Error(`Cyton channel ${channel} is not 1-16`);
  const bit = (b: boolean | undefined, dflt: boolean): string => ((b ?? dflt) ? '1' : '0');
  return `x${CHANNEL_CHARS[channel - 1]}${bit(opts.powerDown, false)}${code}${opts.input ?? 0}${bit(opts.bias, true)}${bit(opts.srb2, true)}${bit(opts.srb1, false)}X`;
}
