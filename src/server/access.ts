import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** Hosts that only this machine can reach: binding there needs no token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The token a request carries: `Authorization: Bearer <t>` or `?token=<t>` (browsers cannot set headers on WebSockets). */
export function requestToken(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Browsers always send Origin on WebSocket upgrades; a page from another site must not drive the
 * session (cross-site WebSocket hijacking). Allowed: no Origin (not a browser), the same origin
 * as the server (its own dashboard and game), or one listed in `allowed`.
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
