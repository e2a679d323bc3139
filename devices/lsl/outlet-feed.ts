import type net from 'node:net';
import { FORMAT_BYTES, TEST_PATTERN_TIMESTAMP, type ChannelFormat } from './channel-format.js';
import { archiveHeader, encodeSamples100 } from './portable-archive.js';
import { encodeSamples, testPatternSample } from './sample-codec.js';

/**
 * One TCP client of an outlet (liblsl src/tcp_server.cpp, `client_session`). The first line picks
 * the method:
 *   LSL:shortinfo\r\n<query>\r\n      -> the shortinfo XML if the query matches, then close
 *   LSL:fullinfo\r\n                  -> the full XML (with <desc>), then close
 *   LSL:streamfeed/110 <uid>\r\n<Key: value\r\n>...\r\n
 *       -> "LSL/110 200 OK" + UID, Byte-Order, Suppress-Subnormals, Data-Protocol-Version headers,
 *          a blank line, two test-pattern samples (offsets 4 and 2), then the live samples.
 *   LSL:streamfeed\r\n<max-buffered> <chunk>\r\n  (data protocol 1.00)
 *       -> a portable archive: header, shortinfo, the two test patterns, then the live samples
 *          (see portable-archive.ts).
 * Status replies instead of a feed: 505 (protocol too new), 404 (stale UID), 400 (a request we
 * cannot serve, e.g. another value size).
 */
export interface FeedServerInfo {
  readonly uid: string;
  readonly format: ChannelFormat;
  readonly channels: number;
  readonly protocolVersion: number;
  /** Samples a consumer may have queued at most, whatever it asks for (liblsl: the outlet's max_buffered). */
  readonly maxCapacity: number;
  matches(query: string): boolean;
  shortinfo(): string;
  fullinfo(): string;
}

const MAX_REQUEST = 64 * 1024;

export class FeedSession {
  private buf = Buffer.alloc(0);
  private feeding = false;
  /** Data protocol of this consumer's feed: 110, or 100 for portable archives. */
  protocol = 110;
  /** Encoded sample blocks waiting for the socket, and how many samples they hold. */
  private readonly queue: { bytes: Buffer; samples: number }[] = [];
  private queuedSamples = 0;
  private maxBuffered = 0;
  /** Samples dropped because this consumer fell further behind than its buffer allows. */
  dropped = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly info: FeedServerInfo,
    private readonly onClose: (s: FeedSession) => void,
    private readonly log: (m: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('drain', () => this.flush());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose(this));
  }

  get isFeeding(): boolean {
    return this.feeding;
  }

  /** Queues an encoded block of `samples` samples; the oldest blocks go when the buffer is full. */
  push(bytes: Buffer, samples: number): void {
    if (!this.feeding) return;
    if (this.queue.length === 0 && this.socket.writableLength === 0) {
      this.socket.write(bytes);
      return;
    }
    this.queue.push({ bytes, samples });
    this.queuedSamples += samples;
    while (this.queuedSamples > this.maxBuffered && this.queue.length > 1) {
      const old = this.queue.shift()!;
      this.queuedSamples -= old.samples;
      this.dropped += old.samples;
    }
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0 && this.socket.writableLength === 0 && !this.socket.destroyed) {
      const next = this.queue.shift()!;
      this.queuedSamples -= next.samples;
      this.socket.write(next.bytes);
    }
  }

  private fail(status: string): void {
    this.socket.end(`LSL/${this.info.protocolVersion} ${status}\r\n\r\n`);
  }

  private onData(d: Buffer): void {
    if (this.feeding) return; // consumers send nothing once the feed runs
    this.buf = Buffer.concat([this.buf, d]);
    if (this.buf.length > MAX_REQUEST) {
      this.log(`client ${this.socket.remoteAddress}: request over ${MAX_REQUEST} bytes, closed`);
      this.socket.destroy();
      return;
    }
    const req = parseFeedRequest(this.buf.toString('latin1'));
    if (req === undefined) return;
    switch (req.kind) {
      case 'fullinfo':
        return void this.socket.end(this.info.fullinfo());
      case 'shortinfo':
        return void (this.info.matches(req.query) ? this.socket.end(this.info.shortinfo()) : this.socket.end());
      case 'feed':
        return this.startFeed(req);
      case 'feed100':
        return this.startFeed100(req.maxBuffered);
      case 'unknown':
        this.log(`client ${this.socket.remoteAddress}: unknown request "${req.method.slice(0, 60)}", closed`);
        this.socket.destroy();
    }
  }

  private startFeed100(maxBuffered: number): void {
    this.maxBuffered = Math.min(maxBuffered, this.info.maxCapacity);
    this.protocol = 100;
    const { format, channels } = this.info;
    const patterns = [4, 2].map((offset, k) => encodeSamples100(format, channels, testPatternSample(format, channels, offset), [TEST_PATTERN_TIMESTAMP], 1, k === 0));
    this.socket.write(Buffer.concat([archiveHeader(this.info.shortinfo()), ...patterns]));
    this.buf = Buffer.alloc(0);
    if (this.maxBuffered <= 0) return void this.socket.end(); // header only, as liblsl
    this.feeding = true;
  }

  private startFeed(req: FeedRequest & { kind: 'feed' }): void {
    if (!Number.isInteger(req.version)) return this.fail('400 Bad request');
    if (Math.floor(req.version / 100) > Math.floor(this.info.protocolVersion / 100)) return this.fail('505 Version not supported');
    if (req.uid && req.uid !== this.info.uid) return this.fail('404 Not found');
    const headers = req.headers;
    const valueSize = headers.get('value-size');
    const expected = FORMAT_BYTES[this.info.format];
    if (this.info.format !== 'string' && valueSize !== undefined && Number(valueSize) !== expected) {
      return this.fail(`400 Value-Size ${valueSize} does not match ${this.info.format}`);
    }
    const ieee = headers.get('has-ieee754-floats');
    if (ieee !== undefined && !['1', 'true'].includes(ieee)) return this.fail('400 Non-IEEE754 floats are not supported');
    const maxBuffered = Number(headers.get('max-buffer-length') ?? '0');
    this.maxBuffered = Number.isFinite(maxBuffered) ? Math.min(maxBuffered, this.info.maxCapacity) : 0;
    const head = `LSL/${this.info.protocolVersion} 200 OK\r\nUID: ${this.info.uid}\r\nByte-Order: 1234\r\n` + `Suppress-Subnormals: 0\r\nData-Protocol-Version: 110\r\n\r\n`;
    const { format, channels } = this.info;
    const patterns = [4, 2].map((offset) => encodeSamples(format, channels, testPatternSample(format, channels, offset), [TEST_PATTERN_TIMESTAMP], 0, 1));
    this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), ...patterns]));
    this.buf = Buffer.alloc(0);
    // liblsl: a consumer asking for no buffer gets the header only (used by its unit tests)
    if (this.maxBuffered <= 0) return void this.socket.end();
    this.feeding = true;
  }
}

export type FeedRequest =
  | { readonly kind: 'fullinfo' }
  | { readonly kind: 'shortinfo'; readonly query: string }
  /** LSL:streamfeed/<version> [uid] with its headers (keys and values lowercased, comments cut). */
  | { readonly kind: 'feed'; readonly version: number; readonly uid: string | undefined; readonly headers: Map<string, string> }
  /** LSL:streamfeed (1.00) with "<max-buffered> <max-chunk>". */
  | { readonly kind: 'feed100'; readonly maxBuffered: number }
  | { readonly kind: 'unknown'; readonly method: string };

/** A client's request (latin1 text received so far); undefined until it is complete. */
export function parseFeedRequest(text: string): FeedRequest | undefined {
  const eol = text.indexOf('\r\n');
  if (eol < 0) return undefined;
  const method = text.slice(0, eol).trim();
  if (method === 'LSL:fullinfo') return { kind: 'fullinfo' };
  if (method === 'LSL:shortinfo') {
    const end = text.indexOf('\r\n', eol + 2);
    return end < 0 ? undefined : { kind: 'shortinfo', query: text.slice(eol + 2, end).trim() };
  }
  if (method.startsWith('LSL:streamfeed/')) {
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [versionPart, uid] = method.split(/\s+/);
    const headers = new Map<string, string>();
    for (const line of text.slice(eol + 2, end).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      headers.set(
        line.slice(0, colon).trim().toLowerCase(),
        line
          .slice(colon + 1)
          .replace(/;.*$/, '')
          .trim()
          .toLowerCase(),
      );
    }
    return { kind: 'feed', version: Number(versionPart.slice('LSL:streamfeed/'.length)), uid, headers };
  }
  if (method === 'LSL:streamfeed') {
    const end = text.indexOf('\r\n', eol + 2);
    if (end < 0) return undefined;
    const maxBuffered = Number(
      text
        .slice(eol + 2, end)
        .trim()
        .split(/\s+/)[0],
    );
    return { kind: 'feed100', maxBuffered: Number.isFinite(maxBuffered) ? maxBuffered : 0 };
  }
  return { kind: 'unknown', method };
}
