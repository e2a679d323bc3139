import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { NeurorxClient, type CloseEvent, type DecisionMessage, type ErrorEvent, type HelloMessage, type ServerMessage, type StatusMessage } from '../src/client/neurorx-client.js';
import { loadConfig, type Config } from '../src/config/config-schema.js';
import { BciServer } from '../src/server/ws-server.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { until } from './helpers/ws-client.js';
import { like } from './helpers/like.js';
import { freeLoopbackPort } from '../src/util/loopback.js';

/** The shipped demo (synthetic motor imagery, control stage) at 20x real time on `port`. */
async function demoConfig(port = 0): Promise<Config> {
  const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
  config.server.port = port;
  config.source.replay = { speed: 20, chunkSize: 16, loop: false };
  return config;
}

/** A client that records every message, error and close. */
function recordingClient(): { client: NeurorxClient; messages: ServerMessage[]; errors: ErrorEvent[]; closes: CloseEvent[] } {
  const client = new NeurorxClient();
  const messages: ServerMessage[] = [];
  const errors: ErrorEvent[] = [];
  const closes: CloseEvent[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('error', (e) => errors.push(e));
  client.on('close', (e) => closes.push(e));
  return { client, messages, errors, closes };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('NeurorxClient against a live in-process session (loopback)', () => {
  let session: Session;
  beforeAll(async () => {
    session = await startSession(await demoConfig());
  });
  afterAll(async () => {
    await session?.stop();
  });

  it('gets the hello first, then decisions in order with typed handlers', async () => {
    const { client, messages } = recordingClient();
    cleanup.push(() => client.close());
    const decisions: DecisionMessage[] = [];
    const hellos: HelloMessage[] = [];
    client.on('decision', (d) => decisions.push(d));
    client.on('hello', (h) => hellos.push(h));
    const hello = await client.connect(session.server.address.url);

    expect(messages[0]).toBe(hello);
    expect(hellos).toEqual([hello]);
    expect(hello).toMatchObject({ v: 2, type: 'hello', protocol: 2, pipeline: { kind: 'motor-imagery' }, stream: { sampleRate: 160 } });
    expect(hello.topics).toEqual(expect.arrayContaining(['decision', 'command', 'cue', 'status', 'signal']));
    expect(hello.subscribed).not.toContain('signal');
    expect(client.connected).toBe(true);
    expect(client.hello).toBe(hello);
    expect(client.topics?.sort()).toEqual([...hello.subscribed].sort());

    await until(() => decisions.length >= 20, 20_000);
    for (let i = 1; i < decisions.length; i++) {
      expect(decisions[i].seq).toBe(decisions[i - 1].seq + 1);
      expect(decisions[i].timestamp - decisions[i - 1].timestamp).toBeCloseTo(0.25, 6);
    }
    for (const d of decisions) {
      expect(d.v).toBe(2);
      expect(d.probabilities.left + d.probabilities.right).toBeCloseTo(1, 6);
    }
    // every decision came through the catch-all handler as well, after the hello
    expect(messages.filter((m) => m.type === 'decision').slice(0, decisions.length)).toEqual(decisions);
    expect(client.state).toMatch(/^(calibrating|running)$/);
  });

  it("subscribing to 'signal' yields signal frames", async () => {
    const { client, messages } = recordingClient();
    cleanup.push(() => client.close());
    await client.connect(session.server.address.url);
    client.subscribe(['signal']);
    await until(() => messages.some((m) => m.type === 'signal'), 5_000);
    const frame = messages.find((m) => m.type === 'signal')!;
    expect(frame).toMatchObject({ v: 2, type: 'signal', channels: client.hello!.stream.channels });
    if (frame.type === 'signal') {
      expect(frame.data).toHaveLength(frame.channels.length);
      expect(frame.flags).toHaveLength(frame.channels.length);
    }
    expect(client.topics).toContain('signal');
  });

  it('ping resolves on the matching pong', async () => {
    const { client, messages } = recordingClient();
    cleanup.push(() => client.close());
    await expect(client.ping()).rejects.toThrow(/not connected/);
    await client.connect(session.server.address.url);
    const rtts = await Promise.all([client.ping(), client.ping(), client.ping()]);
    for (const rtt of rtts) {
      expect(rtt).toBeGreaterThanOrEqual(0);
      expect(rtt).toBeLessThan(2000);
    }
    const pongs = messages.filter((m) => m.type === 'pong');
    expect(pongs).toHaveLength(3);
    expect(new Set(pongs.map((p) => (p.type === 'pong' ? p.id : undefined))).size).toBe(3);
  });

  it("sendMarker puts a marker into the stream: a cue comes back only for the pipeline's events", async () => {
    const { client, messages, errors } = recordingClient();
    cleanup.push(() => client.close());
    const cues: { marker: string; label: string; timestamp: number }[] = [];
    client.on('cue', (c) => cues.push(c));
    await client.connect(session.server.address.url);
    await until(() => messages.some((m) => m.type === 'decision'), 20_000);
    const last = messages.filter((m): m is DecisionMessage & ServerMessage => m.type === 'decision').at(-1)!;
    // Off the 160 Hz sample grid, so these cannot be the synthetic stream's own cues.
    const tBogus = last.timestamp + 0.2001;
    const tLeft = last.timestamp + 0.3337;
    expect(client.sendMarker('not-an-event', tBogus)).toBe(true);
    expect(client.sendMarker('left', tLeft)).toBe(true);
    await until(() => cues.some((c) => c.timestamp === tLeft), 10_000);
    expect(cues.find((c) => c.timestamp === tLeft)).toEqual(expect.objectContaining({ marker: 'left', label: 'left' }));
    // The other marker was injected no later than "left"; give it 1 s (20 s of stream) anyway.
    await sleep(1000);
    expect(cues.filter((c) => c.marker === 'not-an-event' || c.timestamp === tBogus)).toEqual([]);
    expect(errors).toEqual([]);

    client.close();
    expect(client.sendMarker('left')).toBe(false);
  });
  it('pause/resume and calibration start/stop reach the session, which answers with status', async () => {
    const { client, messages, errors } = recordingClient();
    cleanup.push(() => client.close());
    const statuses: StatusMessage[] = [];
    client.on('status', (s) => statuses.push(s));
    await client.connect(session.server.address.url);
    await until(() => messages.some((m) => m.type === 'decision'), 20_000);

    expect(client.pause()).toBe(true);
    await until(() => client.state === 'paused', 5_000);
    const pausedAt = messages.length;
    await sleep(500); // 10 s of stream: 40 decisions if they were sent
    expect(messages.slice(pausedAt).filter((m) => m.type === 'decision' || m.type === 'command')).toEqual([]);
    expect(client.resume()).toBe(true);
    await until(() => client.state !== 'paused', 5_000);
    await until(() => messages.slice(pausedAt).some((m) => m.type === 'decision'), 5_000);

    const before = statuses.length;
    expect(client.startCalibration(2)).toBe(true);
    await until(() => statuses.slice(before).some((s) => s.state === 'calibrating' && s.trials !== undefined), 10_000);
    expect(client.stopCalibration()).toBe(true);
    await until(() => statuses.slice(before).some((s) => /calibration stopped/.test(s.detail)), 10_000);
    expect(errors).toEqual([]);
  });
});

describe('NeurorxClient reconnection', () => {
  it('reconnects to a new server on the same port and subscribes again to its topics', async () => {
    const port = await freeLoopbackPort();
    let session: Session | undefined = await startSession(await demoConfig(port));
    cleanup.push(() => session?.stop());
    const { client, messages, closes } = recordingClient();
    cleanup.push(() => client.close());
    const opens: number[] = [];
    client.on('open', (e) => opens.push(e.reconnects));
    const wanted = ['decision', 'status'] as const;
    await client.connect(`ws://127.0.0.1:${port}`, { topics: wanted, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } });

    /** Where the server answered our (un)subscription after the n-th hello, and the topics it names. */
    const answerAfterHello = (n: number): { index: number; topics: string[] } | undefined => {
      const hellos = messages.flatMap((m, i) => (m.type === 'hello' ? [i] : []));
      if (hellos.length < n) return undefined;
      const index = messages.findIndex((m, i) => i > hellos[n - 1] && m.type === 'status' && m.subscribed !== undefined);
      if (index < 0) return undefined;
      return { index, topics: [...((messages[index] as StatusMessage).subscribed ?? [])].sort() };
    };
    const subscribedAfterHello = (n: number): string[] | undefined => answerAfterHello(n)?.topics;
    await until(() => subscribedAfterHello(1) !== undefined, 5_000);
    expect(subscribedAfterHello(1)).toEqual([...wanted].sort());
    await until(() => messages.some((m) => m.type === 'decision'), 20_000);

    await session.stop();
    session = undefined;
    await until(() => closes.length >= 1, 5_000);
    expect(closes[0]).toMatchObject({ wasOpen: true, retryInMs: like.any(Number) });
    expect(client.connected).toBe(false);
    await sleep(600); // a few failed attempts while nothing listens
    expect(closes.length).toBeGreaterThan(1);
    expect(closes.slice(1).every((c) => !c.wasOpen && c.retryInMs !== undefined && c.retryInMs <= 400)).toBe(true);

    session = await startSession(await demoConfig(port));
    await until(() => messages.filter((m) => m.type === 'hello').length === 2, 10_000);
    expect(opens.at(-1)).toBeGreaterThanOrEqual(1);
    await until(() => subscribedAfterHello(2) !== undefined, 5_000);
    expect(subscribedAfterHello(2)).toEqual([...wanted].sort());

    // New session: decisions again, and no commands or cues now that those are off.
    const second = messages.length;
    await until(() => messages.slice(second).filter((m) => m.type === 'decision').length >= 40, 20_000);
    expect(client.connected).toBe(true);
    const after = messages.slice(answerAfterHello(2)!.index + 1);
    expect(after.filter((m) => m.type === 'decision').length).toBeGreaterThanOrEqual(30);
    expect(after.filter((m) => m.type === 'command' || m.type === 'cue')).toEqual([]);
  });
});

describe('NeurorxClient edge cases (scripted peers)', () => {
  it('reports a message of another protocol version as an error instead of throwing or dispatching it', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
    wss.on('connection', (ws) => {
      ws.send(
        JSON.stringify({
          v: 2,
          type: 'hello',
          protocol: 2,
          server: 'scripted',
          pipeline: { kind: 'x', name: 'x' },
          stream: { name: 's', type: 'EEG', sampleRate: 1, channels: [] },
          state: 'running',
          topics: ['decision'],
          subscribed: ['decision'],
        }),
      );
      ws.send(JSON.stringify({ v: 3, type: 'decision', seq: 0, label: 'left', probabilities: {}, timestamp: 0, latencyMs: 0 }));
      ws.send(JSON.stringify({ type: 'decision', seq: 1, label: 'left', probabilities: {}, timestamp: 0, latencyMs: 0 }));
      ws.send('not json');
      ws.send(JSON.stringify({ v: 2, type: 'decision', seq: 2, label: 'right', probabilities: { right: 1 }, timestamp: 0, latencyMs: 0 }));
    });
    const { client, errors } = recordingClient();
    cleanup.push(() => client.close());
    const decisions: DecisionMessage[] = [];
    client.on('decision', (d) => decisions.push(d));
    await client.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    await until(() => decisions.length === 1, 5_000);
    expect(decisions.map((d) => d.seq)).toEqual([2]);
    expect(errors.map((e) => [e.source, e.message])).toEqual([
      ['client', 'protocol version 3 is not supported (this client speaks 2)'],
      ['client', 'protocol version undefined is not supported (this client speaks 2)'],
      ['client', 'frame is not JSON'],
    ]);
  });

  it('drops and reopens a connection whose peer stops answering pings (heartbeat)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(
        JSON.stringify({
          v: 2,
          type: 'hello',
          protocol: 2,
          server: 'silent',
          pipeline: { kind: 'x', name: 'x' },
          stream: { name: 's', type: 'EEG', sampleRate: 1, channels: [] },
          state: 'running',
          topics: ['status'],
          subscribed: ['status'],
        }),
      );
      // never answers anything, never closes
    });
    const { client, closes } = recordingClient();
    cleanup.push(() => client.close());
    await client.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { heartbeatMs: 100, reconnect: { initialDelayMs: 20 } });
    await until(() => connections >= 2, 5_000);
    expect(closes[0]).toMatchObject({ wasOpen: true, reason: 'no pong within 100 ms', retryInMs: like.any(Number) });
  });

  it('passes the token, and with reconnect: false rejects connect when refused', async () => {
    const hello = () => ({
      type: 'hello' as const,
      protocol: 2 as const,
      server: 'test',
      pipeline: { kind: 'x', name: 'x' },
      stream: { name: 's', type: 'EEG', sampleRate: 1, channels: [] },
      state: 'running' as const,
    });
    const server = await BciServer.start({ port: 0, token: 's3cret-token-of-24-chars' }, hello);
    cleanup.push(() => server.close());
    const refused = new NeurorxClient();
    await expect(refused.connect(server.address.url, { reconnect: false })).rejects.toThrow(/cannot connect/);
    const wrong = new NeurorxClient();
    await expect(wrong.connect(server.address.url, { token: 'nope', reconnect: false })).rejects.toThrow(/cannot connect.*401/);
    const ok = new NeurorxClient();
    cleanup.push(() => ok.close());
    await expect(ok.connect(server.address.url, { token: 's3cret-token-of-24-chars' })).resolves.toMatchObject({ type: 'hello', server: 'test' });
    // the standard WebSocket API cannot set headers: the token then goes in the query string
    const { default: WS } = await import('ws');
    class Standard extends WS {
      constructor(url: string) {
        super(url);
      }
    }
    const viaQuery = new NeurorxClient();
    cleanup.push(() => viaQuery.close());
    await expect(viaQuery.connect(server.address.url, { token: 's3cret-token-of-24-chars', WebSocket: Standard as never })).resolves.toMatchObject({ type: 'hello' });
  });
});
