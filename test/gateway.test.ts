import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionDirectory } from '../src/bus/session-directory.js';
import { BusGateway } from '../src/host/bus-gateway.js';
import { BusWorker } from '../src/host/bus-worker.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';
import { seqClient, seqGaps, syntheticSession, until, type SeqClient } from './helpers/pool.js';
import { handshake } from './helpers/ws-client.js';

const CLIENTS = 1000;
const BATCH = 100;
const logs: string[] = [];
const log = (line: string): void => void logs.push(line);

describe.runIf(haveNatsServer())('a gateway serves a session of the pool from NATS', () => {
  let nats: NatsServer;
  let worker: BusWorker;
  let gateway: BusGateway;
  let nc: NatsConnection;
  let base: string;
  const clients: SeqClient[] = [];
  const busSeqs: number[] = [];

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    nc.subscribe('neurorx.g1.decision', { callback: (_e, m) => busSeqs.push(m.json<{ seq: number }>().seq) });
    const directory = await SessionDirectory.open(nc);
    await directory.put('g1', syntheticSession('gateway demo', 5));
    worker = await BusWorker.start({ servers: [nats.url], name: 'solo', heartbeatMs: 250, ttlMs: 1000, log });
    gateway = await BusGateway.start({ servers: [nats.url], server: { port: 0, maxClients: CLIENTS + 50, maxClientsPerSession: CLIENTS + 50 }, log });
    base = `ws://127.0.0.1:${gateway.server.address.port}`;
    await until('the first decisions on the bus', () => busSeqs.length > 2, 60_000);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await gateway?.close();
    await worker?.close();
    await nc?.close();
    await nats?.dispose();
  }, 60_000);

  it(`fans the session out to ${CLIENTS} WebSocket clients: each gets every decision, in order`, async () => {
    for (let i = 0; i < CLIENTS; i += BATCH) clients.push(...(await Promise.all(Array.from({ length: BATCH }, () => seqClient(`${base}/sessions/g1`)))));
    expect(gateway.server.clientsOf('g1')).toBe(CLIENTS);
    // A window that starts once every client is connected and has had a decision.
    await until('a decision at every client', () => clients.every((c) => c.seqs.length > 0), 60_000);
    const from = Math.max(...clients.map((c) => c.seqs[0])) + 1;
    const to = from + 11;
    await until(`decisions ${from}..${to} at every client`, () => clients.every((c) => c.seqs.at(-1)! >= to), 60_000);
    const window = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const short = clients.filter((c) => c.seqs.filter((s) => s >= from && s <= to).join() !== window.join());
    expect(short).toHaveLength(0);
    expect(clients.filter((c) => seqGaps(c.seqs).length > 0)).toHaveLength(0);
    expect(busSeqs.filter((s) => s >= from && s <= to)).toEqual(window);
    // The overview's list: the session, its worker, its clients.
    const rows = (await (await fetch(`http://127.0.0.1:${gateway.server.address.port}/api/sessions`)).json()) as { id: string; worker: string; clients: number; kind: string }[];
    expect(rows).toEqual([expect.objectContaining({ id: 'g1', worker: 'solo', clients: CLIENTS, kind: 'motor-imagery' })]);
  }, 300_000);

  it('control through the gateway reaches the session; an unknown session is refused', async () => {
    const c = clients[0];
    c.ws.send(JSON.stringify({ type: 'pause' }));
    await until('the paused status at the client', () => c.others.some((m) => m.type === 'status' && m.state === 'paused'));
    expect(worker.host.list().find((s) => s.id === 'g1')?.state).toBe('paused');
    c.ws.send(JSON.stringify({ type: 'resume' }));
    await until('the running status at the client', () => c.others.some((m) => m.type === 'status' && m.state === 'running'));
    const refused = await handshake(`${base}/sessions/nope`);
    expect(refused.status).toBe(404);
    expect(refused.body).toMatch(/no session "nope"/);
  }, 60_000);

  it('garbage on the control subject gets an error reply and the session carries on', async () => {
    for (const garbage of ['not json', '{"type":"self-destruct"}', '\u0000\u0001', '[1,2,3]']) {
      const reply = (await nc.request('neurorx.g1.control', garbage, { timeout: 5000 })).json<{ type?: string; message?: string }>();
      expect(reply.type).toBe('error');
      expect(reply.message).toEqual(expect.any(String));
    }
    const n = busSeqs.length;
    await until('decisions after the garbage', () => busSeqs.length > n + 4);
  }, 60_000);

  it('survives the broker restarting: decisions reach the clients again', async () => {
    const sample = clients.slice(0, 50);
    await nats.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await nats.run();
    const marks = sample.map((c) => c.seqs.length);
    await until('decisions at the clients after the restart', () => sample.every((c, i) => c.seqs.length > marks[i] + 4), 60_000);
    // The session was never restarted: its decisions go on counting (the worker kept them while the broker was away).
    sample.forEach((c, i) => expect(c.seqs.at(-1)!).toBeGreaterThan(c.seqs[marks[i] - 1]));
    expect(worker.pool.held()).toEqual(['g1']);
  }, 120_000);
});
