import dgram from 'node:dgram';
import { localClock } from './lsl-clock.js';
import { bindAddress, isMulticast, localIpv4Addresses, scopeAddresses, type LslConfig } from './lsl-config.js';

/**
 * The UDP side of an outlet (liblsl src/udp_server.cpp):
 * - "LSL:shortinfo\r\n<query>\r\n<return-port> <query-id>\r\n": when the query matches, reply
 *   "<query-id>\r\n<shortinfo xml>" to the sender's address at <return-port>;
 * - "LSL:timedata\r\n<wave-id> <t0>\r\n" (service socket only): reply " <wave-id> <t0> <t1> <t2>"
 *   with t1 = receive time and t2 = send time on our clock, for the inlet's NTP-style offset.
 * Anything else is ignored; a malformed request never throws out of the handler.
 */
export interface UdpResponderHooks {
  matches(query: string): boolean;
  shortinfo(): string;
  onError?(message: string): void;
}

export type UdpRequest = { readonly kind: 'shortinfo'; readonly query: string; readonly port: number; readonly id: string } | { readonly kind: 'timedata'; readonly wave: number; readonly t0: number };

/** A request datagram; undefined for anything else; throws a plain Error naming the bad line. */
export function parseUdpRequest(msg: Buffer): UdpRequest | undefined {
  const lines = msg
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  const method = lines[0]?.trim();
  if (method === 'LSL:shortinfo') {
    const query = (lines[1] ?? '').trim();
    const [portText, id] = (lines[2] ?? '').trim().split(/\s+/);
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535 || !id) throw new Error(`bad return line "${(lines[2] ?? '').slice(0, 80)}"`);
    return { kind: 'shortinfo', query, port, id };
  }
  if (method === 'LSL:timedata') {
    const [waveText, t0Text] = (lines[1] ?? '').trim().split(/\s+/);
    const wave = Number(waveText);
    const t0 = Number(t0Text);
    if (!Number.isInteger(wave) || !Number.isFinite(t0)) throw new Error(`bad line "${(lines[1] ?? '').slice(0, 80)}"`);
    return { kind: 'timedata', wave, t0 };
  }
  return undefined;
}

export function handleUdpRequest(sock: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo, hooks: UdpResponderHooks, timeServices: boolean): void {
  const t1 = localClock();
  try {
    const req = parseUdpRequest(msg);
    if (req?.kind === 'shortinfo') {
      if (hooks.matches(req.query)) sock.send(`${req.id}\r\n${hooks.shortinfo()}`, req.port, from.address, () => {});
    } else if (req?.kind === 'timedata' && timeServices) {
      sock.send(` ${req.wave} ${req.t0} ${t1} ${localClock()}`, from.port, from.address, () => {});
    }
  } catch (e) {
    hooks.onError?.(`UDP request from ${from.address}:${from.port}: ${(e as Error).message}`);
  }
}

/**
 * The discovery responder: one socket on the multicast port (shared with other outlets through
 * SO_REUSEADDR) that receives unicast, broadcast and the scope's multicast groups; bound to
 * loopback (config.bind), it receives unicast to 127.0.0.1 only and joins no group.
 */
export async function openResponder(config: LslConfig, hooks: UdpResponderHooks): Promise<dgram.Socket | undefined> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  sock.on('message', (msg, from) => handleUdpRequest(sock, msg, from, hooks, false));
  const bound = await new Promise<boolean>((resolve) => {
    sock.once('error', () => resolve(false));
    sock.bind(config.multicastPort, bindAddress(config), () => resolve(true));
  });
  if (!bound) {
    hooks.onError?.(`cannot listen on the LSL multicast port ${config.multicastPort}; discoverable through the port range only`);
    sock.close();
    return undefined;
  }
  sock.on('error', (e) => hooks.onError?.(`responder: ${e.message}`));
  if (config.bind === 'loopback') return sock;
  for (const group of scopeAddresses(config.scope).filter(isMulticast)) {
    for (const iface of localIpv4Addresses()) {
      try {
        sock.addMembership(group, iface);
      } catch {
        // this interface cannot join (no multicast on it): the others and unicast remain
      }
    }
  }
  return sock;
}
