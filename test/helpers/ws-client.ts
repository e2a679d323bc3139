import WebSocket from 'ws';
import { wsText } from '../../src/server/ws-text.js';

export type Message = Record<string, unknown> & { type: string };

/** Opens a WebSocket client and records every JSON message it receives. */
export function connect(url: string): Promise<{ ws: WebSocket; messages: Message[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Message[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(wsText(d)) as Message));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

/** Polls `cond` every 10 ms until it holds; throws after `ms`. */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Tries a WebSocket handshake; resolves with the refusal's HTTP status and body, or 101 when accepted. */
export function handshake(url: string, options: WebSocket.ClientOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => (String(e.message).includes('Unexpected server response') ? undefined : reject(e)));
  });
}
