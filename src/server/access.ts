import { timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type http from 'node:http';
import { isIP } from 'node:net';

/** Shortest token accepted, whatever it comes from (server.token, NEURORX_TOKEN, an API). */
export const MIN_TOKEN_LENGTH = 16;

/**
 * A host name or address as the WHATWG URL parser writes it: lower case, IPv4 shorthands such as
 * `127.1` or `0x7f.0.0.1` spelt out, IPv6 compressed in brackets. Undefined when it is no host.
 */
export function canonicalHost(host: string): string | undefined {
  try {
    const bracketed = isIP(host) === 6 ? `[${host}]` : host;
    const url = new URL(`http://${bracketed}/`);
    return url.port === '' && url.username === '' && url.pathname === '/' ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

/** A loopback address literal (127.0.0.0/8, ::1, or IPv4-mapped 127.x), after canonicalHost. */
function isLoopbackAddress(canonical: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(canonical) || canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** Hosts that only this machine can reach, as written (no name lookup): binding there needs no token. */
export function isLoopback(host: string): boolean {
  const c = canonicalHost(host);
  return c !== undefined && (c === 'localhost' || isLoopbackAddress(c));
}

/** Whether every address `host` resolves to is a loopback one (what the server really binds). */
export async function resolvesToLoopbackOnly(host: string): Promise<boolean> {
  if (isLoopback(host)) return true;
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.length > 0 && addresses.every((a) => isLoopback(a.address));
  } catch {
    return false;
  }
}

/** The token a request carries: `Authorization: Bearer <t>` or `?token=<t>` (browsers cannot set headers on WebSockets). */
export function requestToken(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  // The request target is whatever the client sent ("//[" included): read only its query string.
  const target = req.url ?? '';
  const q = target.indexOf('?');
  return q < 0 ? undefined : (new URLSearchParams(target.slice(q + 1)).get('token') ?? undefined);
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why `token` is too weak to guard a server, or undefined when it will do. */
export function weakTokenReason(token: string): string | undefined {
  return token.length < MIN_TOKEN_LENGTH ? `the token is ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 24)` : undefined;
}

/**
 * DNS rebinding defence: a page on evil.example that rebinds its name to 127.0.0.1 reaches the
 * server with `Host: evil.example`. Accepted Host names: address literals (a rebinding attack
 * needs a name), `localhost`, the name the server is bound to, and `allowed` ("*": any).
 * A request without Host (HTTP/1.0, not a browser) is accepted.
 */
export function hostAllowed(req: http.IncomingMessage, boundHost: string, allowed: readonly string[]): boolean {
  const header = req.headers.host;
  if (header === undefined) return true;
  if (allowed.includes('*')) return true;
  const name = hostnameOf(header);
  if (name === undefined) return false;
  if (name === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith('[')) return true;
  return name === canonicalHost(boundHost) || allowed.some((h) => canonicalHost(h) === name);
}

/** The host name of a Host header (`name[:port]`), canonical; undefined when malformed. */
function hostnameOf(header: string): string | undefined {
  try {
    const url = new URL(`http://${header}/`);
    return url.username === '' && url.pathname === '/' ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Browsers always send Origin on WebSocket upgrades; a page from another site must not drive the
 * session (cross-site WebSocket hijacking). Allowed: no Origin (not a browser), the same origin
 * as the server (its own dashboard and game; the Host itself is checked by hostAllowed), or one
 * listed in `allowed`.
 */
export function originAllowed(req: http.IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
