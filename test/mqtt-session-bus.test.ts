import { connectAsync, type MqttClient } from 'mqtt';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachBuses } from '../src/bus/attach-buses.js';
import type { SessionBus } from '../src/bus/session-bus.js';
import { loadConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { haveMosquitto, Mosquitto } from './helpers/bus-servers.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { connect, until, type Message } from './helpers/ws-client.js';
import { seqGaps } from './helpers/pool.js';

const run = haveMosquitto();

interface Received {
  topic: string;
  text: string;
  retain: boolean;
}

/** An MQTT subscriber (QoS 1) to every topic of a session; mqtt.js reconnects and resubscribes by itself. */
async function subscriber(url: string, session: string): Promise<{ client: MqttClient; got: Received[] }> {
  const client = await connectAsync(url, { reconnectPeriod: 200 });
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, text: payload.toString('utf8'), retain: packet.retain }));
  await client.subscribeAsync(`neurorx/${session}/#`, { qos: 1 });
  return { client, got };
}

const parsed = (got: Received[], type: string): Message[] => got.filter((m) => m.topic.endsWith(`/${type}`)).map((m) => JSON.parse(m.text) as Message);

/** Consecutive decisions have consecutive seqs. */
function expectNoSeqGap(decisions: Message[]): void {
  expect(seqGaps(decisions.map((d) => d.seq as number))).toEqual([]);
}

describe.runIf(run)('a session on MQTT (real mosquitto on loopback)', () => {
  let broker: Mosquitto;
  let session: Session | undefined;
  let bus: SessionBus | undefined;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  afterEach(async () => {
    await bus?.close();
    await session?.stop();
    for (const c of clients.splice(0)) await c.endAsync(true);
    bus = undefined;
    session = undefined;
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('publishes every command and decision in order (QoS 1), status retained for late subscribers; survives and reports a broker outage', async () => {
    // The shipped demo (a control stage turns decisions into commands), faster than real time.
    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    config.source.replay = { speed: 10, chunkSize: 16, loop: false };
    config.bus = { mqtt: { url: broker.url, qos: 1, types: ['command', 'decision', 'status'], bufferMessages: 1000 } };
    const log: string[] = [];
    session = await startSession(config);
    const early = await subscriber(broker.url, 'synthetic-motor-imagery-demo');
    clients.push(early.client);
    const { ws, messages } = await connect(session.server.address.url);
    const theSession = session;
    bus = await attachBuses(
      session,
      config.bus,
      (l) => log.push(l),
      (m) => theSession.server.hub.broadcast(m),
    );
    expect(log[0]).toMatch(/^MQTT bus: connected to mqtt:\/\/127\.0\.0\.1:\d+; session "synthetic-motor-imagery-demo"/);
    await until(() => parsed(early.got, 'command').length >= 4, 40_000);

    // every decision in order, each the same JSON as the WebSocket frame with its seq
    const wsDecisions = new Map(messages.filter((m) => m.type === 'decision').map((d) => [d.seq, JSON.stringify(d)]));
    const busDecisions = early.got.filter((m) => m.topic === 'neurorx/synthetic-motor-imagery-demo/decision');
    expectNoSeqGap(busDecisions.map((m) => JSON.parse(m.text) as Message));
    const common = busDecisions.filter((m) => wsDecisions.has((JSON.parse(m.text) as Message).seq));
    expect(common.length).toBeGreaterThan(20);
    for (const m of common) expect(m.text).toBe(wsDecisions.get((JSON.parse(m.text) as Message).seq));
    // every command: those the WebSocket client got since the bus was attached, in the same order
    const busCommands = parsed(early.got, 'command');
    const firstSeq = busCommands[0].seq as number;
    const lastSeq = busCommands.at(-1)!.seq as number;
    const wsCommands = messages.filter((m) => m.type === 'command' && (m.seq as number) >= firstSeq && (m.seq as number) <= lastSeq);
    expect(busCommands).toEqual(wsCommands);
    // only the configured types, nothing retained but status
    expect(early.got.every((m) => /\/(command|decision|status)$/.test(m.topic))).toBe(true);
    expect(early.got.filter((m) => m.retain)).toEqual([]);

    // a controller that subscribes later is told the state at once (the retained status)
    const late = await subscriber(broker.url, 'synthetic-motor-imagery-demo');
    clients.push(late.client);
    await until(() => late.got.some((m) => m.retain), 5000);
    expect(JSON.parse(late.got.find((m) => m.retain)!.text)).toMatchObject({ v: 2, type: 'status', state: 'running' });

    // the broker vanishes and comes back
    await broker.stop();
    await until(() => log.some((l) => /MQTT bus: the connection to .* closed; reconnecting/.test(l)), 10_000);
    const wsAtStop = messages.filter((m) => m.type === 'decision').length;
    await until(() => messages.filter((m) => m.type === 'decision').length >= wsAtStop + 40, 20_000);
    await broker.run();
    await until(() => log.some((l) => /MQTT bus: reconnected to/.test(l)), 20_000);
    const busAtReturn = parsed(early.got, 'decision').length;
    await until(() => parsed(early.got, 'decision').length >= busAtReturn + 10, 20_000);
    // the session never noticed: no decision missed over WebSocket
    expectNoSeqGap(messages.filter((m) => m.type === 'decision'));
    expect(theSession.state).toBe('running');
    // the outage is reported to the WebSocket clients and on the bus, and counted in the log
    expect(log.find((l) => /MQTT bus: reconnected to/.test(l))).toMatch(/after \d+\.\d s; \d+ messages kept meanwhile were sent, \d+ dropped/);
    expect(messages.some((m) => m.type === 'status' && m.warning === 'MQTT bus: disconnected')).toBe(true);
    expect(messages.some((m) => m.type === 'status' && /^MQTT bus: an outage of/.test(String(m.warning)))).toBe(true);
    // the restarted broker (no persistence) learned the retained status again
    const afterOutage = await subscriber(broker.url, 'synthetic-motor-imagery-demo');
    clients.push(afterOutage.client);
    await until(() => afterOutage.got.some((m) => m.retain), 5000);
    expect(JSON.parse(afterOutage.got.find((m) => m.retain)!.text)).toMatchObject({ type: 'status', state: 'running' });

    // closing leaves a retained "stopped" for controllers that come later
    ws.close();
    await bus.close();
    bus = undefined;
    const afterClose = await subscriber(broker.url, 'synthetic-motor-imagery-demo');
    clients.push(afterClose.client);
    await until(() => afterClose.got.some((m) => m.retain), 5000);
    expect(JSON.parse(afterClose.got.find((m) => m.retain)!.text)).toMatchObject({ type: 'status', state: 'stopped', detail: 'the session stopped' });
  }, 120_000);

  it('refuses to attach when the broker cannot be reached, naming it', async () => {
    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    config.bus = { mqtt: { url: 'mqtt://127.0.0.1:1', qos: 1, types: ['decision'], bufferMessages: 10 } };
    session = await startSession(config);
    await expect(attachBuses(session, config.bus, () => {})).rejects.toThrow(/MQTT bus: cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
  }, 30_000);
});
