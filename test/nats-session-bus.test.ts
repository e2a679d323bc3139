import { connect as natsConnect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachBuses } from '../src/bus/attach-buses.js';
import type { SessionBus } from '../src/bus/session-bus.js';
import { parseConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';
import { connect, until, type Message } from './helpers/ws-client.js';
import { seqGaps } from './helpers/pool.js';

const run = haveNatsServer();

/** A motor-imagery session calibrated from a recording (decisions at once), a few times real time. */
function busConfig(servers: string, extra: Record<string, unknown> = {}) {
  const config = parseConfig({
    name: 'nats bus',
    source: { uri: 'synthetic:motor-imagery?seed=5', replay: { speed: 5, chunkSize: 16 } },
    pipeline: {
      kind: 'motor-imagery',
      events: { left: 'left', right: 'right', 'game-right': 'right' },
      calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=1&trials=20' },
    },
    server: { port: 0 },
    bus: { nats: { servers, ...extra } },
  });
  return config;
}

/** A plain NATS subscriber to every message of a session, keeping each as its subject and text. */
async function subscriber(url: string, session: string): Promise<{ nc: NatsConnection; got: { subject: string; text: string }[] }> {
  const nc = await natsConnect({ servers: url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
  const got: { subject: string; text: string }[] = [];
  const decoder = new TextDecoder();
  nc.subscribe(`neurorx.${session}.>`, { callback: (_err, msg) => got.push({ subject: msg.subject, text: decoder.decode(msg.data) }) });
  await nc.flush();
  return { nc, got };
}

const decisionsOf = (got: { subject: string; text: string }[]): Message[] => got.filter((m) => m.subject.endsWith('.decision')).map((m) => JSON.parse(m.text) as Message);

/** Consecutive decisions have consecutive seqs. */
function expectNoSeqGap(decisions: Message[]): void {
  expect(seqGaps(decisions.map((d) => d.seq as number))).toEqual([]);
}

describe.runIf(run)('a session on NATS (real nats-server on loopback)', () => {
  let nats: NatsServer;
  let session: Session | undefined;
  let bus: SessionBus | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    nats = await NatsServer.start();
  });
  afterEach(async () => {
    await bus?.close();
    await session?.stop();
    for (const c of closers.splice(0)) await c();
    bus = undefined;
    session = undefined;
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  it('publishes the WebSocket messages on neurorx.<session>.<type>, answers hello and control, refuses garbage without disturbing the session', async () => {
    const config = busConfig(nats.url);
    const log: string[] = [];
    session = await startSession(config);
    const { nc, got } = await subscriber(nats.url, 'nats-bus');
    closers.push(() => nc.close());
    bus = await attachBuses(session, config.bus, (l) => log.push(l));
    expect(log[0]).toMatch(/NATS bus: connected to .*; session "nats-bus" on neurorx\.nats-bus\.>/);
    const { ws, messages } = await connect(session.server.address.url);
    closers.push(() => Promise.resolve(ws.close()));

    await until(() => decisionsOf(got).length >= 10 && messages.filter((m) => m.type === 'decision').length >= 10, 20_000);

    // hello by request-reply: what a gateway tells a client that connects
    const hello = JSON.parse(new TextDecoder().decode((await nc.request('neurorx.nats-bus.hello', new Uint8Array(0), { timeout: 5000 })).data)) as {
      hello: Message;
      catchUp: Message[];
    };
    expect(hello.hello).toMatchObject({ v: 2, type: 'hello', protocol: 2, pipeline: { kind: 'motor-imagery', name: 'nats bus' }, state: 'running' });
    expect(hello.hello.topics).toEqual(session.topics);
    expect(hello.hello.subscribed).not.toContain('signal');
    expect(hello.catchUp).toEqual([]);

    // garbage on the control subject: a clear error reply naming the fault
    const ask = async (payload: string | Uint8Array): Promise<Record<string, unknown>> => {
      const reply = await nc.request('neurorx.nats-bus.control', typeof payload === 'string' ? new TextEncoder().encode(payload) : payload, { timeout: 5000 });
      return JSON.parse(new TextDecoder().decode(reply.data)) as Record<string, unknown>;
    };
    expect(await ask('{"type": "pause"')).toMatchObject({ v: 2, type: 'error', message: expect.stringMatching(/^message is not JSON/) as unknown });
    expect(await ask(`{"type":"marker","value":"${'x'.repeat(100_000)}"}`)).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/100\d{3} bytes is more than the 65536 accepted/) as unknown,
    });
    expect(await ask('{"type":"launch"}')).toMatchObject({ type: 'error', path: 'type' });
    expect(await ask('{"type":"subscribe","topics":["signal"]}')).toMatchObject({
      type: 'error',
      path: 'type',
      message: expect.stringMatching(/"subscribe" is not a control message on the bus/) as unknown,
    });
    expect(await ask('{"type":"ping"}')).toMatchObject({ type: 'error', message: expect.stringMatching(/"ping" is not a control message/) as unknown });
    expect(await ask('{"type":"marker","value":""}')).toMatchObject({ type: 'error', path: 'value' });
    expect(await ask('{"v":1,"type":"pause"}')).toMatchObject({ type: 'error', path: 'v' });
    expect(await ask(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ type: 'error', message: 'message is not UTF-8 text' });
    expect(await ask('[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]')).toMatchObject({ type: 'error', message: expect.stringMatching(/nesting deeper than 8/) as unknown });

    // ...and the session did not notice: decisions go on, on the bus and over WebSocket, without a gap
    const before = decisionsOf(got).length;
    await until(() => decisionsOf(got).length >= before + 10, 10_000);
    expect(session.state).toBe('running');
    expectNoSeqGap(decisionsOf(got));
    const wsDecisions = messages.filter((m) => m.type === 'decision');
    expectNoSeqGap(wsDecisions);

    // the same JSON as the WebSocket frames, decision by decision (compared where both streams have a seq)
    const wsBySeq = new Map(wsDecisions.map((d) => [d.seq, JSON.stringify(d)]));
    const common = got.filter((m) => m.subject === 'neurorx.nats-bus.decision').filter((m) => wsBySeq.has((JSON.parse(m.text) as Message).seq));
    expect(common.length).toBeGreaterThanOrEqual(10);
    for (const m of common) expect(m.text).toBe(wsBySeq.get((JSON.parse(m.text) as Message).seq));
    const firstBus = JSON.parse(common[0].text) as Message;
    expect(firstBus).toMatchObject({ v: 2, type: 'decision' });

    // control: pause, seen on the bus and over WebSocket; resume
    expect(await ask('{"type":"pause"}')).toEqual({ ok: true });
    await until(() => got.some((m) => m.subject === 'neurorx.nats-bus.status' && (JSON.parse(m.text) as Message).state === 'paused'), 5000);
    await until(() => messages.some((m) => m.type === 'status' && m.state === 'paused'), 5000);
    expect(session.state).toBe('paused');
    expect(await ask('{"v":2,"type":"resume"}')).toEqual({ ok: true });
    await until(() => session?.state === 'running', 5000);
    // a marker by request reaches the stream: the cue it maps to comes back on the bus
    expect(await ask('{"type":"marker","value":"game-right"}')).toEqual({ ok: true });
    await until(() => got.some((m) => m.subject === 'neurorx.nats-bus.cue' && (JSON.parse(m.text) as Message).marker === 'game-right'), 10_000);
    expect(messages.some((m) => m.type === 'cue' && m.marker === 'game-right')).toBe(true);
    // stats go out too; the raw signal does not (signal: false)
    await until(() => got.some((m) => m.subject === 'neurorx.nats-bus.stats'), 5000);
    expect(got.some((m) => m.subject === 'neurorx.nats-bus.signal' || m.subject === 'neurorx.nats-bus.spectrum')).toBe(false);
  }, 60_000);

  it('carries on through a broker outage: WebSocket decisions throughout, bus publishing resumes, the outage is reported', async () => {
    const config = busConfig(nats.url, { session: 'lab-2', bufferBytes: 2048 });
    const log: string[] = [];
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    closers.push(() => Promise.resolve(ws.close()));
    const theSession = session;
    bus = await attachBuses(
      session,
      config.bus,
      (l) => log.push(l),
      (m) => theSession.server.hub.broadcast(m),
    );
    const { nc, got } = await subscriber(nats.url, 'lab-2');
    closers.push(() => nc.close());
    await until(() => decisionsOf(got).length >= 5, 20_000);

    await nats.stop();
    await until(() => log.some((l) => /NATS bus: disconnected from/.test(l)), 10_000);
    const wsAtStop = messages.filter((m) => m.type === 'decision').length;
    // the session goes on without its bus: decisions keep reaching the WebSocket client
    await until(() => messages.filter((m) => m.type === 'decision').length >= wsAtStop + 40, 20_000);
    await nats.run();
    await until(() => log.some((l) => /NATS bus: reconnected to/.test(l)), 20_000);
    const busAtReturn = decisionsOf(got).length;
    await until(() => decisionsOf(got).length >= busAtReturn + 10, 20_000);

    // no decision missed over WebSocket, before, during or after the outage
    expectNoSeqGap(messages.filter((m) => m.type === 'decision'));
    // the outage is told: in the log (with what the small buffer had to drop) and to the WebSocket clients
    const back = log.find((l) => /NATS bus: reconnected to/.test(l))!;
    expect(back).toMatch(/after \d+\.\d s; \d+ messages kept meanwhile were sent, [1-9]\d* dropped \(the oldest\)/);
    expect(log.some((l) => /the outage buffer is full \(2048 bytes\)/.test(l))).toBe(true);
    expect(messages.some((m) => m.type === 'status' && m.warning === 'NATS bus: disconnected')).toBe(true);
    expect(messages.some((m) => m.type === 'status' && /^NATS bus: an outage of/.test(String(m.warning)))).toBe(true);
    // the bus's subscribers learn it too, once it is back; decisions after the outage are in order
    await until(() => got.some((m) => m.subject === 'neurorx.lab-2.status' && /^NATS bus: reconnected/.test(String((JSON.parse(m.text) as Message).detail))), 10_000);
    expectNoSeqGap(decisionsOf(got).slice(busAtReturn));
    expect(session.state).toBe('running');
  }, 90_000);

  it('refuses to attach when no NATS server answers, naming the servers', async () => {
    const config = busConfig('nats://127.0.0.1:1');
    session = await startSession(config);
    await expect(attachBuses(session, config.bus, () => {})).rejects.toThrow(/NATS bus: cannot connect to nats:\/\/127\.0\.0\.1:1/);
  }, 30_000);
});
