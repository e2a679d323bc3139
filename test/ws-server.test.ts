import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BciServer, type ServerOptions } from '../src/server/ws-server.js';
import { connect, handshake, until, type Message } from './helpers/ws-client.js';
import { decisionMessage, helloMessage, messageJsonSchemas, type ClientMessage, type HelloInfo } from '../src/server/messages.js';
import { like } from './helpers/like.js';

const hello = (): HelloInfo => ({
  type: 'hello',
  protocol: 2,
  server: 'neurorx test',
  pipeline: { kind: 'motor-imagery', name: 'test' },
  stream: { name: 's', type: 'EEG', sampleRate: 160, channels: ['C3', 'C4'] },
  state: 'running',
  classes: ['left', 'right'],
});

const decision = (i: number) => ({ type: 'decision' as const, seq: i, label: i % 2 ? 'left' : 'right', probabilities: { left: 0.3, right: 0.7 }, timestamp: i / 4, latencyMs: 0.1 });

let server: BciServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: Partial<ServerOptions> = {}): Promise<BciServer> {
  server = await BciServer.start({ port: 0, ...opts }, hello);
  return server;
}

describe('WebSocket server (protocol v2) on loopback', () => {
  it('binds 127.0.0.1, greets with a valid hello listing topics, and delivers decisions in order', async () => {
    const s = await start();
    expect(s.address.host).toBe('127.0.0.1');
    const { ws, messages } = await connect(s.address.url);
    await until(() => messages.length >= 1);
    const h = helloMessage.parse(messages[0]);
    expect(h).toMatchObject({ v: 2, type: 'hello', classes: ['left', 'right'] });
    expect(h.topics).toContain('signal');
    expect(h.subscribed).not.toContain('signal');
    for (let i = 0; i < 200; i++) s.broadcast(decision(i));
    await until(() => messages.length >= 201);
    const decisions = messages.slice(1).map((m) => decisionMessage.parse(m));
    expect(decisions.map((d) => d.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    ws.close();
  });

  it('100 concurrent clients receive every decision in order while a stalled client is dropped', async () => {
    const s = await start({ maxQueue: 64, maxInFlight: 16, stallTimeoutMs: 500 });
    const clients = await Promise.all(Array.from({ length: 100 }, () => connect(s.address.url)));
    const stalled = await connect(s.address.url);
    // Only the stalled client takes the (large) signal frames, so its socket buffers fill quickly.
    stalled.ws.send(JSON.stringify({ type: 'subscribe', topics: ['signal'] }));
    await until(() => clients.every((c) => c.messages.length >= 1) && stalled.messages.length >= 2);
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const stalledClosed = new Promise<number>((r) => stalled.ws.once('close', (code) => r(code)));
    const total = 300;
    const big = { type: 'signal' as const, t0: 0, rate: 1000, channels: ['C3'], data: [Array.from({ length: 20_000 }, (_, i) => i)], flags: ['ok' as const] };
    for (let i = 0; i < total; i++) {
      s.broadcast(decision(i));
      s.broadcast(big);
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => clients.every((c) => c.messages.length >= total + 1), 30_000);
    for (const c of clients) expect(c.messages.slice(1).map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i));
    // The server gave up on the stalled client (it stays paused: the server must not wait for it).
    await until(() => s.clientCount === 100, 15_000);
    expect(s.wants('signal')).toBe(false);
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([1008, 1006]).toContain(await stalledClosed);
    for (const c of clients) c.ws.close();
  }, 60_000);

  it('answers malformed, invalid, wrong-version and binary messages with an error naming the problem, and stays up', async () => {
    const s = await start();
    const { ws, messages } = await connect(s.address.url);
    ws.send('{not json');
    ws.send(JSON.stringify({ type: 'launch-missiles' }));
    ws.send(JSON.stringify({ type: 'ping', id: 7, extra: true }));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send(JSON.stringify({ v: 1, type: 'ping' }));
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['decision', 'gossip'] }));
    ws.send(JSON.stringify({ type: 'ping', id: 8 }));
    await until(() => messages.length >= 8);
    const [, notJson, unknownType, extraKey, binary, version, topic, pong] = messages;
    expect(notJson).toMatchObject({ v: 2, type: 'error', message: like.stringMatching(/not JSON/) });
    expect(unknownType).toMatchObject({ type: 'error', message: like.stringMatching(/invalid message at "type"/) });
    expect(extraKey).toMatchObject({ type: 'error', message: like.stringMatching(/extra/) });
    expect(binary).toMatchObject({ type: 'error', message: like.stringMatching(/binary/) });
    expect(version).toMatchObject({ type: 'error', path: 'v', message: like.stringMatching(/protocol version 1 is not supported/) });
    expect(topic).toMatchObject({ type: 'error', path: 'topics.1' });
    expect(pong).toEqual({ v: 2, type: 'pong', id: 8 });
    ws.close();
  });

  it('rejects an oversized frame by closing that client only (code 1009)', async () => {
    const s = await start({ maxPayload: 1024 });
    const a = await connect(s.address.url);
    const b = await connect(s.address.url);
    const closed = new Promise<number>((r) => a.ws.once('close', (code) => r(code)));
    a.ws.send('x'.repeat(4096));
    expect(await closed).toBe(1009);
    s.broadcast({ type: 'status', state: 'running', detail: 'still here' });
    await until(() => b.messages.some((m) => m.detail === 'still here'));
    b.ws.close();
  });

  it('closes a client that floods messages beyond the rate limit, and only that one', async () => {
    const s = await start({ rateLimit: { perSecond: 20, burst: 40 } });
    const flood = await connect(s.address.url);
    const calm = await connect(s.address.url);
    const closed = new Promise<[number, string]>((r) => flood.ws.once('close', (code, reason) => r([code, reason.toString()])));
    for (let i = 0; i < 200; i++) flood.ws.send(JSON.stringify({ type: 'ping', id: i }));
    const [code, reason] = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/rate limit/);
    expect(flood.messages.filter((m) => m.type === 'pong').length).toBeLessThanOrEqual(40);
    calm.ws.send(JSON.stringify({ type: 'ping', id: 'ok' }));
    await until(() => calm.messages.some((m) => m.type === 'pong' && m.id === 'ok'));
    calm.ws.close();
  });

  it('requires the token when one is set (header or ?token=), and refuses to expose itself without one', async () => {
    await expect(BciServer.start({ port: 0, host: '0.0.0.0' }, hello)).rejects.toThrow(/server\.host 0\.0\.0\.0 .* set server\.token/);
    const s = await start({ host: '0.0.0.0', token: 's3cret-token-of-24-chars' });
    const url = `ws://127.0.0.1:${s.address.port}`;
    expect((await handshake(url)).status).toBe(401);
    expect((await handshake(`${url}/?token=wrong`)).status).toBe(401);
    expect((await handshake(`${url}/?token=s3cret-token-of-24-chars`)).status).toBe(101);
    expect((await handshake(url, { headers: { authorization: 'Bearer s3cret-token-of-24-chars' } })).status).toBe(101);
  });

  it('refuses browser pages from other origins, accepts its own and listed ones', async () => {
    const s = await start({ allowedOrigins: ['http://game.example'] });
    const url = s.address.url;
    expect((await handshake(url, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await handshake(url, { origin: `http://127.0.0.1:${s.address.port}` })).status).toBe(101);
    expect((await handshake(url, { origin: 'http://game.example' })).status).toBe(101);
    expect((await handshake(url)).status).toBe(101);
  });

  it('sends each client only the topics it subscribed to, and hands control messages to the session', async () => {
    const received: ClientMessage[] = [];
    const s = await start({ onClientMessage: (m) => received.push(m) });
    const a = await connect(s.address.url);
    const b = await connect(s.address.url);
    a.ws.send(JSON.stringify({ type: 'unsubscribe', topics: ['decision'] }));
    b.ws.send(JSON.stringify({ v: 2, type: 'subscribe', topics: ['signal'] }));
    await until(() => a.messages.length >= 2 && b.messages.length >= 2);
    expect(s.wants('signal')).toBe(true);
    s.broadcast(decision(0));
    s.broadcast({ type: 'signal', t0: 0, rate: 160, channels: ['C3'], data: [[1, 2]], flags: ['ok'] });
    s.broadcast({ type: 'status', state: 'running', detail: 'end' });
    const last = (m: Message[]) => m.some((x) => x.detail === 'end');
    await until(() => last(a.messages) && last(b.messages));
    expect(a.messages.map((m) => m.type)).not.toContain('decision');
    expect(a.messages.map((m) => m.type)).not.toContain('signal');
    expect(b.messages.map((m) => m.type)).toEqual(expect.arrayContaining(['decision', 'signal']));
    a.ws.send(JSON.stringify({ type: 'marker', value: 'left', time: 12.5 }));
    a.ws.send(JSON.stringify({ type: 'calibration', action: 'start', trialsPerClass: 1 }));
    a.ws.send(JSON.stringify({ type: 'pause' }));
    await until(() => received.length >= 2 && a.messages.some((m) => m.type === 'error'));
    expect(received).toEqual([{ type: 'marker', value: 'left', time: 12.5 }, { type: 'pause' }]);
    expect(a.messages.find((m) => m.type === 'error')).toMatchObject({ path: 'trialsPerClass' });
    a.ws.close();
    b.ws.close();
  });

  it('serves the dashboard page, the game and the JSON Schemas of every message', async () => {
    const s = await start();
    const base = `http://127.0.0.1:${s.address.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${base}/game`)).status).toBe(200);
    expect((await fetch(`${base}/vendor/uplot.js`)).status).toBe(200);
    const schema = (await (await fetch(`${base}/schema.json`)).json()) as ReturnType<typeof messageJsonSchemas>;
    const server = schema.serverToClient as Record<string, { required: string[] }>;
    expect(Object.keys(server)).toEqual(expect.arrayContaining(['hello', 'decision', 'retrieval', 'emotion', 'signal', 'status', 'error']));
    expect(server.decision.required).toEqual(expect.arrayContaining(['v', 'type', 'label', 'probabilities', 'timestamp']));
    expect(Object.keys(schema.clientToServer as object)).toEqual(expect.arrayContaining(['subscribe', 'unsubscribe', 'marker', 'calibration', 'pause', 'resume', 'ping']));
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
  });

  it('serves the compiled browser modules under /js/ (and only those), with the client library they import', async () => {
    const s = await start();
    const base = `http://127.0.0.1:${s.address.port}`;
    const page = await (await fetch(`${base}/`)).text();
    const entry = /<script type="module" src="([^"]+)"/.exec(page)?.[1];
    expect(entry).toMatch(/^\/js\/.+\.js$/);
    const main = await fetch(`${base}${entry}`);
    expect(main.status).toBe(200);
    expect(main.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(main.headers.get('x-content-type-options')).toBe('nosniff');
    // every relative import of a module resolves to a module the server has (the browser follows them)
    const seen = new Set<string>();
    const queue = [new URL(entry!, base).href];
    while (queue.length > 0) {
      const url = queue.pop()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      for (const [, spec] of (await res.text()).matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) queue.push(new URL(spec, url).href);
    }
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].some((u) => u.endsWith('/js/src/client/neurorx-client.js'))).toBe(true);
    const game = /<script type="module" src="([^"]+)"/.exec(await (await fetch(`${base}/game`)).text())?.[1];
    expect((await fetch(`${base}${game}`)).status).toBe(200);
    expect((await fetch(`${base}/client/neurorx-client.js`)).status).toBe(200);
    // no path from the request reaches the disk: only the compiled .js files are routes
    for (const p of ['/js/../package.json', '/js/src/server/dashboard/main.ts', '/js/src/server/dashboard/', '/js/src/server/ws-server.js', '/dashboard.js']) {
      const status = await new Promise<number>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: s.address.port, path: p }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject),
      );
      expect(status, p).toBe(404);
    }
  });
});
