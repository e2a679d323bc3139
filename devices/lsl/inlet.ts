import net from 'node:net';
import os from 'node:os';
import { FORMAT_BYTES, testPattern, TEST_PATTERN_TIMESTAMP } from './channel-format.js';
import { DEFAULT_LSL_CONFIG, type LslConfig } from './lsl-config.js';
import { resolveStreams, sessionQuery } from './resolver.js';
import { SampleDecoder, type SampleBatch } from './sample-codec.js';
import { ArchiveFeedDecoder } from './portable-archive.js';
import { channelsOf, parseInfoXml, type LslChannelDesc, type LslStreamInfo } from './stream-info.js';
import { estimateTimeCorrection, type TimeEstimate } from './time-sync.js';

/**
 * An LSL inlet: the streamfeed client (liblsl src/data_receiver.cpp, src/info_receiver.cpp,
 * src/inlet_connection.cpp). It fetches the full info (channel labels), estimates the clock
 * offset, opens the feed (data protocol 1.10, or 1.00 when the outlet is that old), checks the two
 * test-pattern samples, then hands out sample batches.
 * When the outlet vanishes (connection closed, or silent past the watchdog) it re-resolves the
 * stream (by source_id when it has one, otherwise by name, type and shape) and continues; samples
 * already delivered are never delivered again.
 */
export interface InletOptions {
  readonly config?: LslConfig;
  /** Seconds of data the outlet may buffer for us (liblsl default 360). */
  readonly maxBufferSeconds?: number;
  /** Seconds without data after which a regular stream counts as lost (liblsl: 15). */
  readonly watchdogSeconds?: number;
  /** Re-estimate the clock offset this often, seconds. */
  readonly timeUpdateInterval?: number;
  readonly recover?: boolean;
  readonly log?: (message: string) => void;
}

export type InletEvent =
  | { readonly kind: 'connected'; readonly info: LslStreamInfo; readonly channels: readonly LslChannelDesc[]; readonly recovered: boolean }
  | { readonly kind: 'samples'; readonly batch: SampleBatch; readonly timeCorrection: number }
  | { readonly kind: 'lost'; readonly reason: string };

/** Protocol errors from the outlet's side: bad status, bad header, wrong test pattern. */
export class LslProtocolError extends Error {
  override name = 'LslProtocolError';
}

export class LslInlet {
  private stopped = false;
  private socket: net.Socket | undefined;
  private estimate: TimeEstimate | undefined;
  private lastDelivered = -Infinity;
  private dedupeBoundary: number | undefined;
  private readonly config: LslConfig;
  private readonly log: (m: string) => void;
  private timeTimer: NodeJS.Timeout | undefined;

  constructor(
    private info: LslStreamInfo,
    private readonly onEvent: (e: InletEvent) => void,
    private readonly opts: InletOptions = {},
  ) {
    this.config = opts.config ?? DEFAULT_LSL_CONFIG;
    this.log = opts.log ?? (() => {});
  }

  get streamInfo(): LslStreamInfo {
    return this.info;
  }

  /** Latest clock correction (add to the outlet's timestamps), 0 until the first estimate. */
  get timeCorrection(): number {
    return this.estimate?.correction ?? 0;
  }

  /** Runs until close(); resolves then. Rejects only when recovery is off and the link fails. */
  async run(): Promise<void> {
    let recovered = false;
    while (!this.stopped) {
      try {
        await this.connectOnce(recovered);
        if (this.stopped) break;
        throw new Error('the outlet closed the connection');
      } catch (e) {
        if (this.stopped) break;
        const reason = (e as Error).message;
        this.dedupeBoundary = this.lastDelivered;
        this.onEvent({ kind: 'lost', reason });
        if (this.opts.recover === false) throw e;
        this.log(`LSL inlet "${this.info.name}": ${reason}; resolving it again`);
        await this.reresolve();
        recovered = true;
      }
    }
  }

  close(): void {
    this.stopped = true;
    clearInterval(this.timeTimer);
    this.socket?.destroy();
  }

  private recoveryQuery(): string {
    const i = this.info;
    const pred = i.sourceId
      ? `source_id='${i.sourceId}'`
      : `name='${i.name}' and type='${i.type}' and channel_count=${i.channelCount} and channel_format='${i.channelFormat}'`;
    return sessionQuery(pred, i.sessionId || this.config.sessionId);
  }

  private async reresolve(): Promise<void> {
    while (!this.stopped) {
      const found = await resolveStreams(this.recoveryQuery(), { minimum: 1, timeout: 1, config: this.config });
      const same = found.find((f) => f.uid === this.info.uid) ?? found[0];
      if (same && !this.stopped) {
        if (same.uid !== this.info.uid) this.estimate = undefined;
        this.info = same;
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async refreshTime(): Promise<void> {
    const e = await estimateTimeCorrection(this.info.v4address, this.info.v4servicePort, {
      probes: this.config.timeProbeCount,
      interval: this.config.timeProbeInterval,
    });
    if (e) this.estimate = e;
  }

  private async connectOnce(recovered: boolean): Promise<void> {
    const full = await fetchFullInfo(this.info);
    this.info = { ...full.info, v4address: this.info.v4address };
    await this.refreshTime();
    clearInterval(this.timeTimer);
    this.timeTimer = setInterval(() => void this.refreshTime(), (this.opts.timeUpdateInterval ?? this.config.timeUpdateInterval) * 1000);
    this.timeTimer.unref();

    const info = this.info;
    const rate = info.nominalSrate;
    const maxBuffer = Math.max(1, Math.round((this.opts.maxBufferSeconds ?? 360) * (rate > 0 ? rate : 100)));
    // The highest protocol both ends speak (liblsl data_receiver.cpp): 1.10, or 1.00 archives.
    const protocol = Math.min(this.config.protocolVersion, info.version) >= 110 ? 110 : 100;
    const request = protocol === 100 ? `LSL:streamfeed\r\n${maxBuffer} 0\r\n` :
      `LSL:streamfeed/${this.config.protocolVersion} ${info.uid}\r\n` +
      `Native-Byte-Order: 1234\r\nEndian-Performance: 0\r\nHas-IEEE754-Floats: 1\r\nSupports-Subnormals: 1\r\n` +
      `Value-Size: ${FORMAT_BYTES[info.channelFormat]}\r\n` +
      `Data-Protocol-Version: ${this.config.protocolVersion}\r\nMax-Buffer-Length: ${maxBuffer}\r\nMax-Chunk-Length: 0\r\n` +
      `Hostname: ${os.hostname()}\r\nSource-Id: ${info.sourceId}\r\nSession-Id: ${info.sessionId}\r\n\r\n`;

    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host: info.v4address, port: info.v4dataPort });
      this.socket = sock;
      sock.setNoDelay(true);
      let head: Buffer | undefined = protocol === 110 ? Buffer.alloc(0) : undefined;
      let decoder: SampleDecoder | ArchiveFeedDecoder | undefined =
        protocol === 100 ? new ArchiveFeedDecoder(info.channelFormat, info.channelCount, rate, 4096) : undefined;
      let archiveHeaderRead = false;
      let patternsChecked = false;
      let lastData = Date.now();
      const watchdogMs = (this.opts.watchdogSeconds ?? 15) * 1000;
      const watchdog = setInterval(() => {
        if (rate > 0 && patternsChecked && Date.now() - lastData > watchdogMs) sock.destroy(new Error(`no data for ${watchdogMs / 1000} s`));
      }, Math.min(1000, watchdogMs / 2));
      let failure: Error | undefined;
      const fail = (e: Error): void => {
        failure ??= e;
        sock.destroy();
      };
      sock.on('connect', () => sock.write(request, 'latin1'));
      sock.on('data', (d: Buffer) => {
        lastData = Date.now();
        try {
          if (head) {
            head = Buffer.concat([head, d]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > 16384) throw new LslProtocolError(`feed header from ${info.v4address}:${info.v4dataPort} exceeds 16 KiB without an empty line`);
              return;
            }
            checkFeedHeader(head.subarray(0, end).toString('latin1'), info, this.config.protocolVersion);
            decoder = new SampleDecoder(info.channelFormat, info.channelCount, rate, 4096, end + 4);
            d = head.subarray(end + 4);
            head = undefined;
          }
          decoder!.append(d);
          if (decoder instanceof ArchiveFeedDecoder && !archiveHeaderRead) {
            if (!decoder.readHeader()) return;
            archiveHeaderRead = true;
            const { info: served } = parseInfoXml(decoder.shortinfo!, `1.00 feed header from ${info.v4address}:${info.v4dataPort}`);
            if (served.uid !== info.uid) throw new Error(`${info.v4address}:${info.v4dataPort} serves stream ${served.uid}, not ${info.uid}`);
          }
          if (!patternsChecked) {
            const patterns = decoder!.take(2);
            if (!patterns) return;
            verifyPatterns(patterns, info);
            decoder!.resetTimestamps();
            patternsChecked = true;
            this.onEvent({ kind: 'connected', info, channels: full.channels, recovered });
          }
          for (const b of decoder!.drain()) this.deliver(b);
        } catch (e) {
          fail(e as Error);
        }
      });
      sock.on('error', (e) => {
        failure ??= e;
      });
      sock.on('close', () => {
        clearInterval(watchdog);
        if (this.stopped) resolve();
        else reject(failure ?? new Error('the outlet closed the connection'));
      });
    });
  }

  private deliver(batch: SampleBatch): void {
    // After a reconnect, never hand out a sample at or before the last one delivered before it.
    let skip = 0;
    if (this.dedupeBoundary !== undefined) {
      while (skip < batch.count && batch.timestamps[skip] <= this.dedupeBoundary) skip++;
      if (skip === batch.count) return;
      this.dedupeBoundary = undefined;
    }
    const out = skip === 0 ? batch : sliceBatch(batch, skip, this.info.channelCount);
    this.lastDelivered = out.timestamps[out.count - 1];
    this.onEvent({ kind: 'samples', batch: out, timeCorrection: this.timeCorrection });
  }
}

function verifyPatterns(patterns: SampleBatch, info: LslStreamInfo): void {
  [4, 2].forEach((offset, k) => {
    const want = testPattern(info.channelFormat, info.channelCount, offset);
    const got = Array.from(patterns.values as ArrayLike<unknown>).slice(k * info.channelCount, (k + 1) * info.channelCount);
    const ts = patterns.timestamps[k];
    const same =
      ts === TEST_PATTERN_TIMESTAMP &&
      want.every((v, c) => (typeof v === 'number' ? Math.fround(v) === Math.fround(Number(got[c])) : v === got[c]));
    if (!same) {
      throw new LslProtocolError(
        `test-pattern sample ${k + 1} from ${info.v4address}:${info.v4dataPort} is [${got.slice(0, 4).join(', ')}...] at ${ts}, ` +
          `expected [${want.slice(0, 4).join(', ')}...] at ${TEST_PATTERN_TIMESTAMP}: the formats are incompatible`,
      );
    }
  });
}

function sliceBatch(b: SampleBatch, from: number, channels: number): SampleBatch {
  return {
    count: b.count - from,
    values: b.values.slice(from * channels) as SampleBatch['values'],
    timestamps: b.timestamps.slice(from),
  };
}

function checkFeedHeader(text: string, info: LslStreamInfo, ourVersion: number): void {
  const lines = text.split('\r\n');
  const status = lines[0].split(' ');
  const where = `${info.v4address}:${info.v4dataPort}`;
  if (status.length < 3 || !status[0].startsWith('LSL/')) throw new LslProtocolError(`malformed feed response from ${where}: "${lines[0].slice(0, 80)}"`);
  const code = Number(status[1]);
  if (code === 404) throw new Error(`${where} no longer serves stream ${info.uid} (404)`);
  if (!(code >= 200 && code < 300)) throw new LslProtocolError(`${where} refused the feed: "${lines[0]}"`);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).replace(/;.*$/, '').trim();
    if (key === 'byte-order' && value !== '1234' && value !== '0') {
      throw new LslProtocolError(`${where} sends byte order ${value}; only little-endian (1234) feeds are supported`);
    }
    if (key === 'uid' && value !== info.uid) throw new Error(`${where} answered for stream ${value}, not ${info.uid}`);
    if (key === 'data-protocol-version' && Number(value) !== 110 && Number(value) > ourVersion) {
      throw new LslProtocolError(`${where} wants data protocol ${value}; we speak ${ourVersion}`);
    }
    if (key === 'data-protocol-version' && Number(value) < 110) {
      throw new LslProtocolError(`${where} wants data protocol ${value} (1.00 portable archives) which this inlet does not read`);
    }
  }
}

/** Asks an outlet for its full info (with `<desc>`): "LSL:fullinfo\r\n", read until close. */
export function fetchFullInfo(info: LslStreamInfo, timeoutMs = 5000): Promise<{ info: LslStreamInfo; channels: LslChannelDesc[] }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: info.v4address, port: info.v4dataPort });
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => sock.destroy(new Error(`no full info from ${info.v4address}:${info.v4dataPort} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write('LSL:fullinfo\r\n'));
    sock.on('data', (d) => {
      parts.push(d);
      size += d.length;
      if (size > 16 * 1024 * 1024) sock.destroy(new Error('full info over 16 MiB'));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const parsed = parseInfoXml(Buffer.concat(parts).toString('utf8'), `full info of "${info.name}" from ${info.v4address}:${info.v4dataPort}`);
        resolve({ info: parsed.info, channels: channelsOf(parsed.doc) });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Resolves one stream by query and returns its info (throws after `timeout` seconds). */
export async function resolveOne(query: string, timeout: number, config: LslConfig = DEFAULT_LSL_CONFIG): Promise<LslStreamInfo> {
  const found = await resolveStreams(query, { minimum: 1, timeout, config });
  if (found.length === 0) throw new Error(`no LSL stream matches ${query} (waited ${timeout} s, scope ${config.scope})`);
  return found[0];
}
