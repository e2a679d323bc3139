import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { pipelineRegistry } from '../pipelines/registry.js';
import { parseConfig, type Config } from '../src/config/config-schema.js';
import { loadPlugins } from '../src/config/load-plugins.js';
import { SessionHost, type HostEvent, type SessionHostOptions } from '../src/host/session-host.js';
import type { OutboundMessage } from '../src/server/messages.js';
import type { MessageSink } from '../src/session/run-session.js';
import { projectPath } from '../src/util/project-path.js';
import { like } from './helpers/like.js';
import { until } from './helpers/ws-client.js';

// The sessions run in worker threads, from the compiled worker (dist/): build first (npm test does).
const FAULTY = projectPath('test', 'fixtures', 'faulty-plugin.js');

/** A motor-imagery session on a seeded synthetic stream that calibrates on its first 3 trials per class (a few seconds at 8x). */
function motorImagery(seed: number): Config {
  return parseConfig({
    name: `mi-${seed}`,
    source: { uri: `synthetic:motor-imagery?seed=${seed}`, replay: { speed: 8, chunkSize: 16 } },
    pipeline: { kind: 'motor-imagery', calibration: { from: 'stream', trialsPerClass: 3 } },
  });
}

async function faulty(): Promise<Config> {
  await loadPlugins([FAULTY], projectPath(), pipelineRegistry, 'test');
  return parseConfig({ name: 'faulty', plugins: [FAULTY], source: { uri: 'synthetic:motor-imagery?seed=9', replay: { speed: 4, chunkSize: 16 } }, pipeline: { kind: 'faulty' } });
}

/** A sink that keeps what it is sent. */
function recordingSink(): MessageSink & { messages: OutboundMessage[] } {
  const messages: OutboundMessage[] = [];
  return { messages, broadcast: (m) => void messages.push(m), clientCount: 1 };
}

const decisionsOf = (messages: readonly OutboundMessage[]): number[] => messages.flatMap((m) => (m.type === 'decision' ? [m.seq as number] : []));
const statusesOf = (messages: readonly OutboundMessage[]) => messages.flatMap((m) => (m.type === 'status' ? [m as { state: string; detail: string }] : []));

/** Consecutive decision numbers, whatever happened meanwhile. */
function expectNoGap(seqs: readonly number[]): void {
  expect(seqs.length).toBeGreaterThan(0);
  expect(seqs.filter((s, i) => i > 0 && s !== seqs[i - 1] + 1)).toEqual([]);
}

let host: SessionHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

function newHost(options: SessionHostOptions = {}): { host: SessionHost; events: HostEvent[]; log: string[] } {
  const events: HostEvent[] = [];
  const log: string[] = [];
  // No spare thread unless a test asks for one: thread counts below are the sessions' own.
  host = new SessionHost({ spareThreads: 0, ...options, onEvent: (e) => events.push(e), log: (l) => log.push(l) });
  return { host, events, log };
}

describe('the session host: sessions in worker threads, isolated, restarted', () => {
  it('runs three sessions, each in its own thread, each decoding through an attached sink', async () => {
    const { host } = newHost();
    const sessions = await Promise.all([1, 2, 3].map((seed) => host.create(`mi${seed}`, motorImagery(seed))));
    const sinks = sessions.map((s) => {
      const sink = recordingSink();
      s.attach(sink);
      return sink;
    });
    await until(() => sinks.every((s) => decisionsOf(s.messages).length >= 20), 90_000);
    for (const sink of sinks) expectNoGap(decisionsOf(sink.messages));
    expect(sessions.map((s) => s.hello().pipeline.kind)).toEqual(['motor-imagery', 'motor-imagery', 'motor-imagery']);
    await until(() => host.list().every((i) => i.decisionsPerSecond > 0), 10_000);
    const list = host.list();
    expect(list.map((i) => i.state)).toEqual(['running', 'running', 'running']);
    expect(new Set(list.map((i) => i.thread)).size).toBe(3);
    expect(host.threadCount).toBe(3);
    for (const i of list) {
      expect(i).toMatchObject({ kind: 'motor-imagery', clients: 1, restarts: 0, fromSavedModel: false });
      expect(i.latencyMs.p99).toBeGreaterThanOrEqual(i.latencyMs.p50);
      expect(i.cpu).toBeGreaterThanOrEqual(0);
      expect(i.cpu).toBeLessThanOrEqual(1);
    }
    // stats reach the sinks, with the host's client count
    expect(sinks[0].messages.find((m) => m.type === 'stats')).toMatchObject({ clients: 1 });
  }, 180_000);

  it('a session that fails, crashes, stalls or allocates without bound is restarted and reported; the others go on without a gap', async () => {
    const { host, events } = newHost({ maxHeapMb: 256 });
    const good = await Promise.all([4, 5].map((seed) => host.create(`mi${seed}`, motorImagery(seed))));
    const goodSinks = good.map((s) => {
      const sink = recordingSink();
      s.attach(sink);
      return sink;
    });
    const bad = await host.create('bad', await faulty());
    const badSink = recordingSink();
    bad.attach(badSink);
    await until(() => goodSinks.every((s) => decisionsOf(s.messages).length >= 10), 90_000);
    const infoOf = (id: string) => host.list().find((i) => i.id === id)!;

    const cases: [string, RegExp][] = [
      ['fail', /session failed: faulty: failing as asked/],
      ['crash', /thread \d+ died: faulty: crashing the thread as asked/],
      ['stall', /thread \d+ stalled/],
      // (out of memory, or stalled first when collecting garbage near the cap takes longer than the stall timeout)
      ['runaway', /thread \d+ (ran out of memory|stalled)/],
    ];
    for (const [i, [marker, why]] of cases.entries()) {
      const before = goodSinks.map((s) => decisionsOf(s.messages).length);
      await until(() => infoOf('bad').state === 'running', 60_000);
      await host.get('bad')!.control({ type: 'marker', value: marker });
      await until(() => infoOf('bad').restarts === i + 1 && infoOf('bad').state === 'running', 90_000);
      expect(infoOf('bad').lastError).toMatch(why);
      // reported to its clients, then running again
      const statuses = statusesOf(badSink.messages);
      const failure = statuses.map((s) => s.state === 'stopped' && why.test(s.detail)).lastIndexOf(true);
      expect(statuses[failure].detail).toMatch(new RegExp(`restarting in \\d+\\.\\d s \\(restart ${i + 1}\\)`));
      expect(statuses.slice(failure + 1).some((s) => /session restarted/.test(s.detail))).toBe(true);
      // the others decoded on meanwhile
      await until(() => goodSinks.every((s, k) => decisionsOf(s.messages).length > before[k] + 10), 30_000);
    }
    for (const sink of goodSinks) expectNoGap(decisionsOf(sink.messages));
    expect(
      host
        .list()
        .filter((i) => i.id !== 'bad')
        .map((i) => i.restarts),
    ).toEqual([0, 0]);
    expect(events.filter((e) => e.type === 'failed').map((e) => e.id)).toEqual(['bad', 'bad', 'bad', 'bad']);
    expect(events.filter((e) => e.type === 'restarted').map((e) => e.id)).toEqual(['bad', 'bad', 'bad', 'bad']);
  }, 300_000);

  it('restarts a calibrated session whose thread died from its saved model, without calibrating again; its thread-mate is restarted too', async () => {
    const { host, events } = newHost({ sessionsPerThread: 2 });
    const mi = await host.create('mi6', motorImagery(6));
    const sink = recordingSink();
    mi.attach(sink);
    const mate = await host.create('mate', await faulty());
    const mateSink = recordingSink();
    mate.attach(mateSink);
    expect(host.list().map((i) => i.thread)).toEqual([0, 0]);
    await until(() => decisionsOf(sink.messages).length >= 10 && existsSync(host.modelPath('mi6')), 90_000);
    const calibrations = statusesOf(sink.messages).filter((s) => /collecting/.test(s.detail)).length;
    expect(calibrations).toBeGreaterThan(0);

    const from = sink.messages.length;
    await host.get('mate')!.control({ type: 'marker', value: 'stall' });
    await until(() => host.list().every((i) => i.restarts === 1 && i.state === 'running'), 60_000);
    await until(() => decisionsOf(sink.messages.slice(from)).length >= 10, 60_000);
    const after = statusesOf(sink.messages.slice(from));
    expect(after[0]).toMatchObject({ state: 'stopped', detail: like.stringMatching(/^thread 0 stalled .*\(with its sessions mi6, mate\); restarting in 0\.5 s \(restart 1\)$/) });
    expect(after.filter((s) => /collecting/.test(s.detail))).toEqual([]);
    expect(after.some((s) => s.state === 'running')).toBe(true);
    expect(host.list().find((i) => i.id === 'mi6')).toMatchObject({ fromSavedModel: true, state: 'running', lastError: like.stringMatching(/stalled/) });
    // the mate was told too
    expect(statusesOf(mateSink.messages).some((s) => s.state === 'stopped' && /thread 0 stalled/.test(s.detail))).toBe(true);
    expect(
      events
        .filter((e) => e.type === 'restarted')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['mate', 'mi6']);
  }, 240_000);

  it('stop(id) ends a session for good; close() leaves no thread; a spare thread waits, loaded, for the next session', async () => {
    const { host, events } = newHost({ spareThreads: 1 });
    const a = await host.create('a', motorImagery(7));
    await host.create('b', motorImagery(8));
    const sink = recordingSink();
    a.attach(sink);
    // a's, b's and the spare.
    expect(host.threadCount).toBe(3);
    await host.stop('a');
    expect(host.list().map((i) => i.id)).toEqual(['b']);
    expect(host.get('a')).toBeUndefined();
    expect(statusesOf(sink.messages).at(-1)).toMatchObject({ state: 'stopped', detail: 'session stopped: stopped by the host' });
    // a's thread is now a second spare: ended.
    await until(() => host.threadCount === 2, 10_000);
    const seen = sink.messages.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.messages.length).toBe(seen);
    expect(events.filter((e) => e.type === 'failed' || e.type === 'restarted')).toEqual([]);
    await expect(host.create('a', motorImagery(7)).then(() => 'created')).resolves.toBe('created');
    // The new a took the spare; another spare is started in its place.
    expect(host.list().find((i) => i.id === 'a')?.thread).not.toBe(host.list().find((i) => i.id === 'b')?.thread);
    expect(host.threadCount).toBe(3);
    await host.close();
    expect(host.threadCount).toBe(0);
    expect(host.list()).toEqual([]);
    // close() stops b and the new a together: in either order.
    expect(events.filter((e) => e.type === 'stopped').map((e) => e.id)[0]).toBe('a');
    expect(
      events
        .filter((e) => e.type === 'stopped')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['a', 'a', 'b']);
  }, 120_000);
});
