import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { bindUdpInRange } from './port-range.js';
import { DEFAULT_LSL_CONFIG, isMulticast, localIpv4Addresses, scopeAddresses, type LslConfig } from './lsl-config.js';
import { checkQuery, parseInfoXml, type LslStreamInfo } from './stream-info.js';

/**
 * Stream discovery as liblsl does it (src/resolver_impl.cpp, src/resolve_attempt_udp.cpp): a
 * query "LSL:shortinfo\r\n<query>\r\n<return-port> <query-id>\r\n" goes in waves to the scope's
 * multicast/broadcast addresses on the multicast port and, by unicast, to every port of the range
 * on the known peers; outlets whose info matches answer "<query-id>\r\n<shortinfo>". Results are
 * keyed by stream UID; an empty v4address is filled with the address the answer came from.
 */
export interface ResolveOptions {
  /** Seconds to wait at most. */
  readonly timeout?: number;
  /** Stop as soon as this many streams answered (0: wait the whole timeout). */
  readonly minimum?: number;
  readonly config?: LslConfig;
  /** Seconds between query waves (liblsl: 0.5 multicast min RTT). */
  readonly waveInterval?: number;
  readonly signal?: AbortSignal;
}

/** liblsl's query for "prop='value'", restricted to our session like liblsl's build_query. */
export function propQuery(prop: string, value: string, sessionId = DEFAULT_LSL_CONFIG.sessionId): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(prop)) throw new Error(`LSL property "${prop}" is not an element name`);
  if (value.includes("'")) throw new Error(`LSL value ${JSON.stringify(value)} must not contain a quote`);
  return `session_id='${sessionId}' and ${prop}='${value}'`;
}

export function sessionQuery(predicate: string, sessionId = DEFAULT_LSL_CONFIG.sessionId): string {
  return predicate.trim() === '' ? `session_id='${sessionId}'` : `session_id='${sessionId}' and ${predicate}`;
}

export async function resolveStreams(query: string, opts: ResolveOptions = {}): Promise<LslStreamInfo[]> {
  checkQuery(query);
  const config = opts.config ?? DEFAULT_LSL_CONFIG;
  const timeout = opts.timeout ?? 2;
  const minimum = opts.minimum ?? 0;
  const sock = await bindUdpInRange(config);
  try {
    sock.setBroadcast(true);
  } catch {
    // no broadcast on this socket: multicast and unicast remain
  }
  const id = String(randomInt(1, 2 ** 47));
  const message = Buffer.from(`LSL:shortinfo\r\n${query}\r\n${sock.address().port} ${id}\r\n`, 'utf8');
  const targets = queryTargets(config);
  const results = new Map<string, LslStreamInfo>();
  // Multicast goes out of every local interface (liblsl: one send per multicast interface), from
  // sockets of their own; the answers come back to `sock`, whose port the query names.
  const multicastSenders: dgram.Socket[] = [];
  if (targets.some(([a]) => isMulticast(a))) {
    for (const iface of localIpv4Addresses()) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => {});
      await new Promise<void>((r) => s.bind(0, () => r()));
      try {
        s.setMulticastInterface(iface);
        s.setMulticastTTL(config.scope === 'link' ? 1 : 24);
        multicastSenders.push(s);
      } catch {
        s.close();
      }
    }
  }

  return new Promise<LslStreamInfo[]>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(waves);
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', finish);
      sock.close();
      for (const s of multicastSenders) s.close();
      resolve([...results.values()]);
    };
    sock.on('error', () => {}); // unreachable targets, refused ports: other targets still count
    sock.on('message', (msg, from) => {
      try {
        const info = parseResolverReply(msg, id, from.address);
        if (info && !results.has(info.uid)) results.set(info.uid, info);
        if (minimum > 0 && results.size >= minimum) finish();
      } catch {
        // a malformed answer is skipped; the others still count
      }
    });
    const sendWave = (): void => {
      for (const [address, port] of targets) {
        const via = isMulticast(address) ? multicastSenders : [sock];
        for (const s of via) {
          try {
            s.send(message, port, address, () => {});
          } catch {
            // unroutable in this network: skip
          }
        }
      }
    };
    sendWave();
    const waves = setInterval(sendWave, (opts.waveInterval ?? 0.5) * 1000);
    const timer = setTimeout(finish, timeout * 1000);
    opts.signal?.addEventListener('abort', finish);
  });
}

/**
 * Where queries go: the scope's addresses on the multicast port and, since several outlets share
 * that port but a unicast datagram reaches only one of them, every port of the range on the known
 * peers (on 127.0.0.1 in machine scope or when bound to loopback), as liblsl's KnownPeers. Bound
 * to loopback, nothing leaves this machine.
 */
export function queryTargets(config: LslConfig): [string, number][] {
  const targets: [string, number][] = [];
  for (const a of scopeAddresses(config.scope)) targets.push([a, config.multicastPort]);
  const local = config.scope === 'machine' || config.bind === 'loopback';
  const peers = config.knownPeers.length > 0 ? config.knownPeers : local ? ['127.0.0.1'] : [];
  for (const peer of peers) for (let p = config.basePort; p < config.basePort + config.portRange; p++) targets.push([peer, p]);
  return config.bind === 'loopback' ? targets.filter(([a]) => a.startsWith('127.')) : targets;
}

/**
 * An answer to query `id`: "<query-id>\r\n<shortinfo xml>"; undefined when it answers another
 * query. Throws StreamInfoError for a malformed info. An empty v4address is filled with `from`.
 */
export function parseResolverReply(msg: Buffer, id: string, from: string): LslStreamInfo | undefined {
  const text = msg.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0 || text.slice(0, nl).trim() !== id) return undefined;
  const { info } = parseInfoXml(text.slice(nl + 1), `answer from ${from}`);
  return info.v4address ? info : { ...info, v4address: from };
}
