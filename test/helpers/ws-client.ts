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
