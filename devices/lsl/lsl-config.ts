import os from 'node:os';

/**
 * LSL network settings, with liblsl's defaults (src/api_config.cpp): the multicast port, the
 * port range outlets bind their TCP data and UDP service sockets in, and the resolve scope that
 * picks the addresses queries are sent to.
 */
export type ResolveScope = 'machine' | 'link' | 'site' | 'organization' | 'global';

/**
 * Where our LSL sockets listen: 'any' (every interface, liblsl's default) or 'loopback' (127.0.0.1
 * only, as liblsl's [multicast] ListenAddress = 127.0.0.1): outlets then serve this machine only,
 * found by unicast on 127.0.0.1 (the multicast port and the port range), never over the network.
 */
export type BindScope = 'any' | 'loopback';

export interface LslConfig {
  readonly multicastPort: number;
  readonly basePort: number;
  readonly portRange: number;
  readonly scope: ResolveScope;
  /** Hosts also queried by unicast on every port of the range (liblsl's [lab] KnownPeers). */
  readonly knownPeers: readonly string[];
  readonly sessionId: string;
  /** Data protocol we speak: 110 (1.10). */
  readonly protocolVersion: number;
  /** Time-sync probes per estimate, their spacing (s), and how often to re-estimate (s). */
  readonly timeProbeCount: number;
  readonly timeProbeInterval: number;
  readonly timeUpdateInterval: number;
  /** Interfaces our outlets' TCP and UDP services (and our resolvers' reply sockets) listen on. */
  readonly bind: BindScope;
}

export const DEFAULT_LSL_CONFIG: LslConfig = {
  multicastPort: 16571,
  basePort: 16572,
  portRange: 32,
  scope: 'site',
  knownPeers: [],
  sessionId: 'default',
  protocolVersion: 110,
  timeProbeCount: 8,
  timeProbeInterval: 0.064,
  timeUpdateInterval: 2,
  bind: 'any',
};

/** The IPv4 address to bind to for a bind scope. */
export function bindAddress(config: LslConfig): string {
  return config.bind === 'loopback' ? '127.0.0.1' : '0.0.0.0';
}

const SCOPE_ADDRESSES: Record<ResolveScope, readonly string[]> = {
  machine: ['127.0.0.1'],
  link: ['255.255.255.255', '224.0.0.1', '224.0.0.183'],
  site: ['239.255.172.215'],
  organization: [],
  global: [],
};
const ORDER: readonly ResolveScope[] = ['machine', 'link', 'site', 'organization', 'global'];

/** IPv4 addresses queries go to (on the multicast port), widest scope included, as liblsl. */
export function scopeAddresses(scope: ResolveScope): string[] {
  const out: string[] = [];
  for (const s of ORDER.slice(0, ORDER.indexOf(scope) + 1)) out.push(...SCOPE_ADDRESSES[s]);
  return out;
}

export function isMulticast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/**
 * Reads overrides from the environment: NEURORX_LSL_SCOPE, NEURORX_LSL_PEERS (comma list),
 * NEURORX_LSL_MULTICAST_PORT, NEURORX_LSL_BASE_PORT, NEURORX_LSL_SESSION, NEURORX_LSL_BIND
 * (any or loopback).
 */
export function lslConfigFromEnv(base: LslConfig = DEFAULT_LSL_CONFIG, env = process.env): LslConfig {
  const scope = env.NEURORX_LSL_SCOPE as ResolveScope | undefined;
  if (scope && !ORDER.includes(scope)) throw new Error(`NEURORX_LSL_SCOPE="${scope}": expected one of ${ORDER.join(', ')}`);
  const peers = env.NEURORX_LSL_PEERS?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const port = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}="${v}": expected a port number`);
    return n;
  };
  const bindEnv = env.NEURORX_LSL_BIND;
  const bind = bindEnv === 'any' || bindEnv === 'loopback' ? bindEnv : undefined;
  if (bindEnv && !bind) throw new Error(`NEURORX_LSL_BIND="${bindEnv}": expected any or loopback`);
  const multicastPort = port('NEURORX_LSL_MULTICAST_PORT');
  const basePort = port('NEURORX_LSL_BASE_PORT');
  return {
    ...base,
    ...(scope ? { scope } : {}),
    ...(peers ? { knownPeers: peers } : {}),
    ...(multicastPort ? { multicastPort } : {}),
    ...(basePort ? { basePort } : {}),
    ...(env.NEURORX_LSL_SESSION ? { sessionId: env.NEURORX_LSL_SESSION } : {}),
    ...(bind ? { bind } : {}),
  };
}

/** This machine's IPv4 interface addresses (loopback included): where multicast is sent and joined. */
export function localIpv4Addresses(): string[] {
  const out = new Set<string>(['127.0.0.1']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.add(a.address);
  return [...out];
}
