import type { RawData } from 'ws';

/**
 * A WebSocket message's text. With ws's default binaryType ('nodebuffer') a message is one Buffer;
 * the other two forms ws's type allows are handled rather than assumed away.
 */
export function wsText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
