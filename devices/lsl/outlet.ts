import { randomUUID } from 'node:crypto';
import type dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { ChannelFormat } from './channel-format.js';
import { localClock } from './lsl-clock.js';
import { DEFAULT_LSL_CONFIG, type LslConfig } from './lsl-config.js';
import { handleUdpRequest, openResponder } from './outlet-udp.js';
import { FeedSession } from './outlet-feed.js';
import { bindUdpInRange, listenTcpInRange } from './port-range.js';
import { encodeSamples100 } from './portable-archive.js';
import { encodeSamples, type ValueArray } from './sample-codec.js';
import { infoToXml, matchesQuery, parseInfoXml, type LslStreamInfo } from './stream-info.js';

export interface OutletOptions {
  readonly name: string;
  readonly type: string;
  readonly channelCount: number;
  readonly channelFormat: ChannelFormat;
  /** Hz; 0 for irregular streams. */
  readonly nominalSrate: number;
  readonly sourceId?: string;
  /** Inner XML of `<desc>`, e.g. from channelsDescXml(). */
  readonly descXml?: string;
  readonly config?: LslConfig;
  readonly log?: (message: string) => void;
}

/** Seconds of samples an outlet keeps at most for a slow consumer (liblsl's default max_buffered). */
const MAX_BUFFERED_SECONDS = 360;

/**
 * An LSL outlet: discoverable by liblsl resolvers (UDP), serving any number of inlets (TCP) with
 * their own bounded buffers, and answering time-sync probes. With `config.bind` 'loopback' every
 * socket listens on 127.0.0.1 only: this machine's inlets find and read it, the network cannot.
 */
export class LslOutlet {
  private readonly sessions = new Set<FeedSession>();
  private infoXmlShort = '';
  private infoXmlFull = '';
  private doc!: ReturnType<typeof parseInfoXml>['doc'];
  private closed = false;

  private constructor(
    readonly info: LslStreamInfo,
    private readonly tcp: net.Server,
    private readonly service: dgram.Socket,
    private responder: dgram.Socket | undefined,
  ) {}

  static async open(opts: OutletOptions): Promise<LslOutlet> {
    const config = opts.config ?? DEFAULT_LSL_CONFIG;
    const log = opts.log ?? (() => {});
    if (!opts.name) throw new Error('LSL outlet: name must not be empty');
    if (!Number.isInteger(opts.channelCount) || opts.channelCount < 1) throw new Error(`LSL outlet "${opts.name}": channelCount must be a positive integer`);
    if (!(opts.nominalSrate >= 0)) throw new Error(`LSL outlet "${opts.name}": nominalSrate must be >= 0`);
    const tcp = net.createServer();
    const dataPort = await listenTcpInRange(tcp, config);
    const service = await bindUdpInRange(config);
    const info: LslStreamInfo = {
      name: opts.name,
      type: opts.type,
      channelCount: opts.channelCount,
      channelFormat: opts.channelFormat,
      sourceId: opts.sourceId ?? '',
      nominalSrate: opts.nominalSrate,
      version: config.protocolVersion,
      createdAt: localClock(),
      uid: randomUUID(),
      sessionId: config.sessionId,
      hostname: os.hostname(),
      v4address: '',
      v4dataPort: dataPort,
      v4servicePort: service.address().port,
      v6address: '',
      v6dataPort: 0,
      v6servicePort: 0,
      descXml: opts.descXml ?? '',
    };
    const outlet = new LslOutlet(info, tcp, service, undefined);
    outlet.infoXmlShort = infoToXml(info, false);
    outlet.infoXmlFull = infoToXml(info, true);
    outlet.doc = parseInfoXml(outlet.infoXmlShort, `outlet "${opts.name}"`).doc;
    const hooks = {
      matches: (q: string) => matchesQuery(outlet.doc, q),
      shortinfo: () => outlet.infoXmlShort,
      onError: (m: string) => log(`LSL outlet "${opts.name}": ${m}`),
    };
    service.on('message', (msg, from) => handleUdpRequest(service, msg, from, hooks, true));
    service.on('error', (e) => log(`LSL outlet "${opts.name}": service socket: ${e.message}`));
    tcp.on('connection', (sock) => {
      if (outlet.closed) return sock.destroy();
      const s = new FeedSession(
        sock,
        {
          uid: info.uid,
          format: info.channelFormat,
          channels: info.channelCount,
          protocolVersion: config.protocolVersion,
          maxCapacity: Math.max(1, Math.round(MAX_BUFFERED_SECONDS * (opts.nominalSrate > 0 ? opts.nominalSrate : 100))),
          matches: hooks.matches,
          shortinfo: hooks.shortinfo,
          fullinfo: () => outlet.infoXmlFull,
        },
        (x) => outlet.sessions.delete(x),
        hooks.onError,
      );
      outlet.sessions.add(s);
    });
    outlet.responder = await openResponder(config, hooks);
    return outlet;
  }

  /** Where this outlet listens ("address:port"): TCP data, UDP service, and the multicast-port responder if it has one. */
  get endpoints(): { tcp: string; service: string; responder?: string } {
    const at = (a: { address: string; port: number }): string => `${a.address}:${a.port}`;
    return {
      tcp: at(this.tcp.address() as net.AddressInfo),
      service: at(this.service.address()),
      ...(this.responder ? { responder: at(this.responder.address()) } : {}),
    };
  }

  /** Inlets currently receiving samples. */
  get consumers(): number {
    let n = 0;
    for (const s of this.sessions) if (s.isFeeding) n++;
    return n;
  }

  /** Samples dropped across consumers that fell behind their buffer. */
  get dropped(): number {
    let n = 0;
    for (const s of this.sessions) n += s.dropped;
    return n;
  }

  /**
   * Sends `count` samples (values sample-major) with their timestamps (seconds, local clock);
   * encoded once, shared by every consumer.
   */
  push(values: ValueArray, timestamps: ArrayLike<number>, count = timestamps.length): void {
    if (this.closed || count === 0) return;
    const need = count * this.info.channelCount;
    if (values.length < need) throw new Error(`LSL outlet "${this.info.name}": ${values.length} values for ${count} samples of ${this.info.channelCount} channels`);
    let any = false;
    for (const s of this.sessions) any ||= s.isFeeding;
    if (!any) return;
    const { channelFormat: format, channelCount: channels } = this.info;
    let v110: Buffer | undefined;
    let v100: Buffer | undefined;
    for (const s of this.sessions) {
      if (s.protocol === 100) s.push((v100 ??= encodeSamples100(format, channels, values, timestamps, count, false)), count);
      else s.push((v110 ??= encodeSamples(format, channels, values, timestamps, 0, count)), count);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    this.service.close();
    this.responder?.close();
    await new Promise<void>((r) => this.tcp.close(() => r()));
  }
}
