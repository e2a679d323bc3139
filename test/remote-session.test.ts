import { connect, type NatsConnection, type Subscription } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteSession } from '../src/bus/remote-session.js';
import { natsSubjects } from '../src/bus/subjects.js';
import type { OutboundMessage } from '../src/server/messages.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SESSION = 'x';

/** A stand-in for a worker's bus publisher: answers hello and control, publishes what the test says. */
class StandIn {
  state: 'running' | 'paused' = 'running';
  readonly controls: unknown[] = [];
  private readonly subs: Subscription[] = [];
  constructor(private readonly nc: NatsConnection) {}

  answer(): void {
    this.subs.push(
      this.nc.subscribe(natsSubjects.hello(SESSION), {
        callback: (_e, m) =>
          m.respond(
            JSON.stringify({
              hello: {
                v: 2,
                type: 'hello',
                protocol: 2,
                server: 'neurorx stand-in',
                pipeline: { kind: 'csp-lda', name: 'stand-in' },
                stream: { name: 'synthetic', type: 'EEG', sampleRate: 160, channels: ['C3', 'C4'] },
                state: this.state,
              },
              catchUp: [{ v: 2, type: 'loss', kind: 'gap', at: 1.5, samples: 16, detail: 'a gap of 16 samples' }],
            }),
          ),
      }),
      this.nc.subscribe(natsSubjects.control(SESSION), {
        callback: (_e, m) => {
          const c = JSON.parse(new TextDecoder().decode(m.data)) as { type: string };
          this.controls.push(c);
          if (c.type === 'pause' && this.state === 'running') {
            this.state = 'paused';
            m.respond(JSON.stringify({ ok: true }));
          } else m.respond(JSON.stringify({ v: 2, type: 'error', message: `cannot ${c.type} now` }));
        },
      }),
    );
  }

  publish(message: { type: string } & Record<string, unknown>): void {
    this.nc.publish(natsSubjects.message(SESSION, message.type), JSON.stringify({ v: 2, ...message }));
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}

describe.runIf(haveNatsServer())('RemoteSession: a session on the bus as a gateway serves it', () => {
  let server: NatsServer;
  let gatewayNc: NatsConnection;
  let workerNc: NatsConnection;
  let standIn: StandIn;
  let remote: RemoteSession;
  const logs: string[] = [];
  const received: OutboundMessage[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
    gatewayNc = await connect({ servers: server.url });
    workerNc = await connect({ servers: server.url });
    standIn = new StandIn(workerNc);
  });

  afterAll(async () => {
    remote?.close();
    await gatewayNc?.close();
    await workerNc?.close();
    await server?.dispose();
  });

  it('says "stopped, not reachable yet" until the session answers, then its hello and catch-up', async () => {
    remote = new RemoteSession(gatewayNc, SESSION, { retryMs: 50, helloTimeoutMs: 500, controlTimeoutMs: 500, log: (l) => logs.push(l) });
    remote.attach({ broadcast: (m) => received.push(m) });
    expect(remote.hello().state).toBe('stopped');
    expect(remote.hello().detail).toMatch(/not reachable yet/);
    expect(remote.catchUp()).toEqual([]);
    standIn.answer();
    await remote.reachable;
    expect(remote.hello()).toMatchObject({ type: 'hello', state: 'running', pipeline: { kind: 'csp-lda', name: 'stand-in' } });
    expect(remote.hello()).not.toHaveProperty('v');
    expect(remote.catchUp()).toEqual([{ type: 'loss', kind: 'gap', at: 1.5, samples: 16, detail: 'a gap of 16 samples' }]);
    expect(remote.topics).toContain('decision');
  });

  it('hands every message to the sink in publish order, dropping and counting garbage', async () => {
    for (let seq = 0; seq < 200; seq++) {
      standIn.publish({ type: 'decision', seq, label: 'left', probabilities: { left: 0.9, right: 0.1 }, timestamp: seq / 4, latencyMs: 1 });
      if (seq === 50) workerNc.publish(natsSubjects.message(SESSION, 'decision'), 'not json {');
      if (seq === 120) workerNc.publish(natsSubjects.message(SESSION, 'decision'), JSON.stringify({ v: 2, seq: 'no type' }));
    }
    await until('200 decisions', () => received.filter((m) => m.type === 'decision').length === 200);
    const seqs = received.filter((m) => m.type === 'decision').map((m) => (m as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(received[0]).not.toHaveProperty('v');
    expect(remote.dropped).toBe(2);
    expect(logs.some((l) => /dropped a message on neurorx\.x\.decision/.test(l))).toBe(true);
  });

  it("forwards control: resolves on ok, rejects with the session's error, and asks the hello again on a status", async () => {
    await expect(remote.control({ type: 'pause' })).resolves.toBeUndefined();
    await expect(remote.control({ type: 'resume' })).rejects.toThrow('cannot resume now');
    expect(standIn.controls).toEqual([{ type: 'pause' }, { type: 'resume' }]);
    // Control requests travel under neurorx.x.>, but they are not the session's messages.
    expect(received.every((m) => m.type === 'decision')).toBe(true);
    standIn.publish({ type: 'status', state: 'paused', detail: 'paused by a client' });
    await until('the hello to say paused', () => remote.hello().state === 'paused');
    expect(received.at(-1)).toEqual({ type: 'status', state: 'paused', detail: 'paused by a client' });
  });

  it('rejects control naming the session when nobody answers', async () => {
    standIn.stop();
    await expect(remote.control({ type: 'pause' })).rejects.toThrow(`session ${SESSION} did not answer within 500 ms`);
  });
});
