import net from 'node:net';
import os from 'node:os';
import { FORMAT_BYTES, testPattern, TEST_PATTERN_TIMESTAMP } from './channel-format.js';
import { LossLog } from '../../src/stream/losses.js';
import { everyLiveTick } from './live-ticks.js';
import { localClock } from './lsl-clock.js';
import { bindAddress, DEFAULT_LSL_CONFIG, type LslConfig } from './lsl-config.js';
import { resolveStreams, sessionQuery } from './resolver.js';
import { checkSampleSize, SampleDecoder, SampleFormatError, type SampleBatch } from './sample-codec.js';
import { ArchiveFeedDecoder } from './portable-archive.js';
import { channelsOf, parseInfoXml, type LslChannelDesc, type LslStreamInfo } from './stream-info.js';
import { estimateTimeCorrection, type TimeEstimate } from './time-sync.js';

/**
 * An LSL inlet: the streamfeed client (liblsl src/data_receiver.cpp, src/info_receiver.cpp,
 * src/inlet_connection.cpp). It fetches the full info (channel labels), estimates the clock
 * offset, opens the feed (data protocol 1.10, or 1.00 when the outlet is that old), checks the two
 * test-pattern samples, then hands out sample batches.
 * When the outlet vanishes (connection closed, or silent past the watchdog) it re-resolves the
 * stream (by source_id when it has one, otherwise by name, type and shape) and continues.
 *
 * What it promises (liblsl's inlet without postprocessing is the reference):
 * - batches in arrival order, each sample once: a feed, old or new, starts with the samples pushed
 *   after it was opened (liblsl's send_buffer consumers and ours alike), so nothing is repeated;
 * - `firstSample` numbers the samples of a regular stream and jumps over the samples missed while
 *   the outlet was unreachable or silent (estimated from the nominal rate and the timestamps), so
 *   firstSample strictly increases and every hole is counted;
 * - timestamps are the outlet's own (deduced ones filled in), not postprocessed: they are NOT
 *   promised to increase. liblsl's push_chunk convention (last sample "now", the others spaced
 *   back at the nominal rate) makes them step back when an outlet pushes chunks in a burst, and a
 *   restarted outlet stamps on its own clock. Monotonic times are the lsl: source's `monotonize`
 *   option (liblsl's proc_monotonize);
 * - every loss goes to `losses`: a warning when the outlet is noticed gone (at that moment) or
 *   the stream falls silent, and a gap (time, samples, seconds, cause) when samples flow again.
 */
export interface InletOptions {
  readonly config?: LslConfig;
  /** Seconds of data the outlet may buffer for us (liblsl default 360). */
  readonly maxBufferSeconds?: number;
  /** Seconds without data after which a regular stream counts as lost (liblsl: 15). */
  readonly watchdogSeconds?: number;
  /** Seconds without samples after which a regular stream is reported silent (default max(1 s, 10 periods)). */
  readonly silenceSeconds?: number;
  /** Re-estimate the clock offset this often, seconds. */
  readonly timeUpdateInterval?: number;
  readonly recover?: boolean;
  readonly log?: (message: string) => void;
  /** Where the inlet reports what it lost (default: a log of its own, `inlet.losses`). */
  readonly losses?: LossLog;
}

export type InletEvent =
  | { readonly kind: 'connected'; readonly info: LslStreamInfo; readonly channels: readonly LslChannelDesc[]; readonly recovered: boolean }
  /** `firstSample`: index of the batch's first sample in the stream, missed samples counted. */
  | { readonly kind: 'samples'; readonly batch: SampleBatch; readonly timeCorrection: number; readonly firstSample: number }
  | { readonly kind: 'lost'; readonly reason: string };

/** Protocol errors from the outlet's side: bad status, bad header, wrong test pattern. */
export class LslProtocolError extends Error {
  override name = 'LslProtocolError';
}

/** A stretch without samples: since the last sample delivered, until samples flow again. */
interface Outage {
  /** The last sample delivered before it (local clock), if any. */
  readonly lastTime: number | undefined;
  /** Local clock when that sample arrived (or when the feed started). */
  readonly since: number;
  unreachable: boolean;
}

/** How often the inlet looks for silence, ms. */
const SILENCE_CHECK_MS = 250;

export class LslInlet {
  readonly losses: LossLog;
  private stopped = false;
  private socket: net.Socket | undefined;
  private estimate: TimeEstimate | undefined;
  private readonly config: LslConfig;
  private readonly log: (m: string) => void;
  private timeTimer: NodeJS.Timeout | undefined;
  private stopWatch: () => void = () => {};
  /** Index of the next sample, missed ones counted. */
  private nextSample = 0;
  /** Local-clock time of the first and the last sample delivered. */
  private firstTime: number | undefined;
  private lastTime: number | undefined;
  /** Local clock when the last batch arrived, or the feed started; undefined while not fed. */
  private lastArrival: number | undefined;
  private outage: Outage | undefined;

  constructor(
    private info: LslStreamInfo,
    private readonly onEvent: (e: InletEvent) => void,
    private readonly opts: InletOptions = {},
  ) {
    this.config = opts.config ?? DEFAULT_LSL_CONFIG;
    this.log = opts.log ?? (() => {});
    this.losses = opts.losses ?? new LossLog();
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
    this.stopWatch = this.watchSilence();
    try {
      while (!this.stopped) {
        try {
          await this.connectOnce(recovered);
          if (this.stopped) break;
          throw new Error('the outlet closed the connection');
        } catch (e) {
          if (this.stopped) break;
          const reason = (e as Error).message;
          this.noticeLost(reason);
          this.onEvent({ kind: 'lost', reason });
          if (this.opts.recover === false) throw e;
          this.log(`LSL inlet "${this.info.name}": ${reason}; resolving it again`);
          await this.reresolve();
          recovered = true;
        }
      }
    } finally {
      this.stopWatch();
      clearInterval(this.timeTimer);
    }
  }

  close(): void {
    this.stopped = true;
    clearInterval(this.timeTimer);
    this.stopWatch();
    this.socket?.destroy();
  }

  /** Seconds into the stream (since its first sample) of a local-clock time, for messages. */
  private streamSeconds(t: number | undefined): string {
    return t === undefined || this.firstTime === undefined ? 'the start' : `t=${(t - this.firstTime).toFixed(2)} s`;
  }

  private noticeLost(reason: string): void {
    const since = this.lastArrival ?? localClock();
    this.lastArrival = undefined;
    const where = `${this.info.v4address}:${this.info.v4dataPort}`;
    this.losses.warning(`LSL stream "${this.info.name}": outlet at ${where} unreachable (${reason}), no samples since ${this.streamSeconds(this.lastTime)}; resolving it again`);
    if (this.outage) this.outage.unreachable = true;
    else this.outage = { lastTime: this.lastTime, since, unreachable: true };
  }

  /** Reports a regular stream that stops sending while connected (liblsl only notices after 15 s). */
  private watchSilence(): () => void {
    const limit = this.opts.silenceSeconds ?? Math.max(1, 10 / this.info.nominalSrate);
    return everyLiveTick(SILENCE_CHECK_MS, (now) => {
      if (this.info.nominalSrate <= 0 || this.outage || this.lastArrival === undefined || now - this.lastArrival <= limit) return;
      this.outage = { lastTime: this.lastTime, since: this.lastArrival, unreachable: false };
      this.losses.warning(`LSL stream "${this.info.name}": silent since ${this.streamSeconds(this.lastTime)} (no samples for ${(now - this.lastArrival).toFixed(1)} s)`);
    });
  }

  private recoveryQuery(): string {
    const i = this.info;
    const pred = i.sourceId ? `source_id='${i.sourceId}'` : `name='${i.name}' and type='${i.type}' and channel_count=${i.channelCount} and channel_format='${i.channelFormat}'`;
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
      bindAddress: bindAddress(this.config),
    });
    if (e) this.estimate = e;
  }

  private async connectOnce(recovered: boolean): Promise<void> {
    const full = await fetchFullInfo(this.info);
    this.info = { ...full.info, v4address: this.info.v4address };
    await this.refreshTime();
    // Closed while we waited: open nothing that no one would close.
    if (this.stopped) return;
    clearInterval(this.timeTimer);
    // A failed refresh keeps the last estimate (a timer callback must never throw).
    this.timeTimer = setInterval(() => void this.refreshTime().catch(() => {}), (this.opts.timeUpdateInterval ?? this.config.timeUpdateInterval) * 1000);
    this.timeTimer.unref();

    const info = this.info;
    checkSampleSize(info.channelFormat, info.channelCount);
    const rate = info.nominalSrate;
    const maxBuffer = Math.min(2 ** 31 - 1, Math.max(1, Math.round((this.opts.maxBufferSeconds ?? 360) * (rate > 0 ? rate : 100))));
    // The highest protocol both ends speak (liblsl data_receiver.cpp): 1.10, or 1.00 archives.
    const protocol = Math.min(this.config.protocolVersion, info.version) >= 110 ? 110 : 100;
    const request =
      protocol === 100
        ? `LSL:streamfeed\r\n${maxBuffer} 0\r\n`
        : `LSL:streamfeed/${this.config.protocolVersion} ${info.uid}\r\n` +
          `Native-Byte-Order: 1234\r\nEndian-Performance: 0\r\nHas-IEEE754-Floats: 1\r\nSupports-Subnormals: 1\r\n` +
          `Value-Size: ${FORMAT_BYTES[info.channelFormat]}\r\n` +
          `Data-Protocol-Version: ${this.config.protocolVersion}\r\nMax-Buffer-Length: ${maxBuffer}\r\nMax-Chunk-Length: 0\r\n` +
          `Hostname: ${os.hostname()}\r\nSource-Id: ${info.sourceId}\r\nSession-Id: ${info.sessionId}\r\n\r\n`;

    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host: info.v4address, port: info.v4dataPort });
      this.socket = sock;
      sock.setNoDelay(true);
      let head: Buffer | undefined = protocol === 110 ? Buffer.alloc(0) : undefined;
      let decoder: SampleDecoder | ArchiveFeedDecoder | undefined = protocol === 100 ? new ArchiveFeedDecoder(info.channelFormat, info.channelCount, rate, 4096) : undefined;
      let archiveHeaderRead = false;
      let patternsChecked = false;
      let lastData = Date.now();
      const watchdogMs = (this.opts.watchdogSeconds ?? 15) * 1000;
      const watchdog = setInterval(
        () => {
          if (rate > 0 && patternsChecked && Date.now() - lastData > watchdogMs) sock.destroy(new Error(`no data for ${watchdogMs / 1000} s`));
        },
        Math.min(1000, watchdogMs / 2),
      );
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
            this.lastArrival = localClock();
            this.onEvent({ kind: 'connected', info, channels: full.channels, recovered });
          }
          for (const b of decoder!.drain()) this.deliver(b);
        } catch (e) {
          // the samples before a corrupt byte are delivered, then the feed fails
          if (e instanceof SampleFormatError) for (const b of e.decoded) this.deliver(b);
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
    const now = localClock();
    const correction = this.timeCorrection;
    if (this.outage) this.endOutage(this.outage, batch.timestamps[0] + correction, now);
    this.firstTime ??= batch.timestamps[0] + correction;
    this.lastTime = batch.timestamps[batch.count - 1] + correction;
    this.lastArrival = now;
    const firstSample = this.nextSample;
    this.nextSample += batch.count;
    this.onEvent({ kind: 'samples', batch, timeCorrection: correction, firstSample });
  }

  /**
   * Samples flow again: the missing stretch, from the last sample before it to `first` (both on
   * our clock), is reported as a gap and skipped in the sample numbering. When the timestamps do
   * not line up (a restarted outlet on another clock), the time without samples measures it.
   */
  private endOutage(o: Outage, first: number, now: number): void {
    this.outage = undefined;
    const name = `LSL stream "${this.info.name}"`;
    const cause = o.unreachable ? `LSL outlet unreachable (reconnected to "${this.info.name}" on ${this.info.hostname || this.info.v4address})` : `${name} silent`;
    const rate = this.info.nominalSrate;
    const wall = now - o.since;
    if (o.lastTime === undefined || rate <= 0) {
      this.losses.warning(`${name}: samples again after ${wall.toFixed(2)} s (${cause}); ${rate <= 0 ? 'samples sent meanwhile, if any, are lost' : 'nothing delivered before it'}`);
      return;
    }
    const period = 1 / rate;
    const byStamps = first - o.lastTime - period;
    const lineUp = byStamps > -1 && byStamps < wall + (this.opts.maxBufferSeconds ?? 360);
    const samples = Math.max(0, Math.round((lineUp ? byStamps : wall - period) * rate));
    if (samples === 0) {
      this.losses.warning(`${name}: samples again after ${wall.toFixed(2)} s (${cause}); none missing`);
      return;
    }
    const how = lineUp ? '' : '; length from the time without samples, the timestamps do not line up';
    this.losses.gap({ time: o.lastTime + period, samples, seconds: samples * period, cause: cause + how });
    this.nextSample += samples;
  }
}

function verifyPatterns(patterns: SampleBatch, info: LslStreamInfo): void {
  [4, 2].forEach((offset, k) => {
    const want = testPattern(info.channelFormat, info.channelCount, offset);
    const got = Array.from(patterns.values as ArrayLike<unknown>).slice(k * info.channelCount, (k + 1) * info.channelCount);
    const ts = patterns.timestamps[k];
    const same = ts === TEST_PATTERN_TIMESTAMP && want.every((v, c) => (typeof v === 'number' ? Math.fround(v) === Math.fround(Number(got[c])) : v === got[c]));
    if (!same) {
      throw new LslProtocolError(
        `test-pattern sample ${k + 1} from ${info.v4address}:${info.v4dataPort} is [${got.slice(0, 4).join(', ')}...] at ${ts}, ` +
          `expected [${want.slice(0, 4).join(', ')}...] at ${TEST_PATTERN_TIMESTAMP}: the formats are incompatible`,
      );
    }
  });
}

export function checkFeedHeader(text: string, info: LslStreamInfo, ourVersion: number): void {
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
    const value = line
      .slice(colon + 1)
      .replace(/;.*$/, '')
      .trim();
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
        reject(e instanceof Error ? e : new Error(String(e)));
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
