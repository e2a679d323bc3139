import type { ChildProcess } from 'node:child_process';
import { connect } from 'nats';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RemoteSession } from '../src/bus/remote-session.js';
import { natsSubjects } from '../src/bus/subjects.js';
import { PROTOCOL_VERSION } from '../src/server/messages.js';
import { MultiSessionServer } from '../src/server/multi-session-server.js';
import type { ChildGuard } from './child-guard.js';
import { unpinned } from './scale-nats-server.js';

/**
 * Gateway fan-out: a MultiSessionServer in this process serves one RemoteSession (what `neurorx
 * gateway` serves: a session fed from `neurorx.<id>.>`); K WebSocket clients in a child process subscribe to it; a publisher pushes
 * decision-shaped messages on `neurorx.<id>.decision` in rounds of rising rate. Per round: the
 * messages delivered to clients per second (all clients summed, from the first publish to the
 * last client's last message), and whether every client got every message in order.
 */

export interface GatewayRound {
  readonly offeredPerSecond: number;
  readonly messages: number;
  readonly deliveredPerSecond: number;
  readonly seconds: number;
  /** Clients that got every message of the round, in order. */
  readonly completeClients: number;
  readonly clients: number;
}

export interface GatewayResult {
  /** The highest deliveries per second of a round in which every client got every message in order. */
  readonly gatewayMessagesPerSecond: number;
  readonly clients: number;
  readonly rounds: readonly GatewayRound[];
  readonly session: string;
}

type ChildMessage = { type: 'connected'; clients: number } | { type: 'failed'; error: string } | { type: 'ready' } | { type: 'done' | 'report'; clients: number; complete: number; received: number };

export async function gatewayFanOut(
  url: string,
  guard: ChildGuard,
  options: { clients: number; rates: readonly number[]; roundSeconds: number; deadline: number },
  progress: (line: string) => void,
): Promise<GatewayResult> {
  const id = 'bench-scale-gateway';
  const nc = await connect({ servers: url, name: 'bench:scale gateway' });
  const pub = await connect({ servers: url, name: 'bench:scale publisher' });
  // The worker's side of the hello request (what its NATS bus answers), so that the gateway's
  // RemoteSession knows the session before the clients come.
  const helloSub = pub.subscribe(natsSubjects.hello(id), {
    callback: (_err, msg) =>
      msg.respond(
        JSON.stringify({
          hello: {
            v: PROTOCOL_VERSION,
            type: 'hello',
            protocol: PROTOCOL_VERSION,
            server: 'neurorx bench:scale',
            pipeline: { kind: 'motor-imagery', name: id },
            stream: { name: 'bench', type: 'EEG', sampleRate: 160, channels: [] },
            state: 'running',
            topics: ['decision', 'command', 'cue', 'status'],
            subscribed: [],
          },
          catchUp: [],
        }),
      ),
  });
  const session = new RemoteSession(nc, id, { log: progress });
  await session.reachable;
  const server = await MultiSessionServer.start({ host: '127.0.0.1', port: 0, maxClients: options.clients + 16, maxClientsPerSession: options.clients + 16 });
  server.add(session);
  let child: ChildProcess | undefined;
  const rounds: GatewayRound[] = [];
  try {
    const script = fileURLToPath(new URL('./scale-clients.js', import.meta.url));
    const [cmd, args] = unpinned(process.execPath, [script, `ws://127.0.0.1:${server.address.port}/sessions/${id}`, String(options.clients)]);
    child = guard.spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const inbox: ChildMessage[] = [];
    let wake: (() => void) | undefined;
    child.on('message', (m: ChildMessage) => {
      inbox.push(m);
      wake?.();
    });
    const next = async (timeoutMs: number): Promise<ChildMessage | undefined> => {
      const t0 = performance.now();
      while (inbox.length === 0) {
        if (performance.now() - t0 > timeoutMs || child!.exitCode !== null) return undefined;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return inbox.shift();
    };
    const hello = await next(120_000);
    if (hello?.type !== 'connected') throw new Error(`the clients did not connect: ${JSON.stringify(hello)}`);
    progress(`  ${hello.clients} WebSocket clients connected (child process ${child.pid})`);
    for (const rate of options.rates) {
      if (performance.now() + options.roundSeconds * 3000 > options.deadline) break;
      const messages = Math.round(rate * options.roundSeconds);
      child.send({ type: 'round', last: messages - 1 });
      if ((await next(10_000))?.type !== 'ready') throw new Error('the clients did not start the round');
      const t0 = performance.now();
      const subject = natsSubjects.message(id, 'decision');
      let seq = 0;
      // Paced in 10 ms ticks, deadlines from the start (no drift).
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const due = Math.min(messages, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
          for (; seq < due; seq++) {
            pub.publish(subject, `{"v":2,"type":"decision","seq":${seq},"label":"left","probabilities":{"left":0.7,"right":0.3},"timestamp":${(seq / 4).toFixed(2)},"latencyMs":0.2}`);
          }
          if (seq >= messages) resolve();
          else setTimeout(tick, 10);
        };
        tick();
      });
      let end = await next(options.roundSeconds * 1000 + 15_000);
      const seconds = (performance.now() - t0) / 1000;
      if (end?.type !== 'done') {
        child.send({ type: 'report' });
        end = await next(10_000);
      }
      if (!end || (end.type !== 'done' && end.type !== 'report')) throw new Error('the clients did not report');
      const round: GatewayRound = {
        offeredPerSecond: rate,
        messages,
        deliveredPerSecond: Math.round(end.received / seconds),
        seconds: Math.round(seconds * 100) / 100,
        completeClients: end.complete,
        clients: end.clients,
      };
      rounds.push(round);
      const ok = round.completeClients === round.clients;
      progress(
        `  ${rate} msg/s to ${round.clients} clients: ${round.deliveredPerSecond} deliveries/s over ${round.seconds} s, ${round.completeClients}/${round.clients} clients got all ${messages} in order`,
      );
      // Stop when the fan-out no longer keeps up (a loss, or the round took much longer than offered).
      if (!ok || seconds > options.roundSeconds * 1.5) break;
    }
  } finally {
    if (child && child.exitCode === null) {
      child.send({ type: 'exit' });
      await new Promise((r) => {
        const t = setTimeout(() => child!.kill('SIGKILL'), 5000);
        child!.once('exit', () => r(clearTimeout(t)));
      });
    }
    await server.close();
    session.close();
    helloSub.unsubscribe();
    await nc.close();
    await pub.close();
  }
  const good = rounds.filter((r) => r.completeClients === r.clients);
  return { gatewayMessagesPerSecond: Math.max(0, ...good.map((r) => r.deliveredPerSecond)), clients: options.clients, rounds, session: 'RemoteSession (src/bus/remote-session.ts)' };
}
