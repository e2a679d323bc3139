import { spawn } from 'node:child_process';
import { connect } from 'nats';
import { Subject, type Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSource, type Source } from '../devices/open-source.js';
import { dataSubject } from '../devices/nats/eeg-bus-names.js';
import { encodeFrame } from '../devices/nats/eeg-frame.js';
import { publishSource, type Publication } from '../devices/nats/nats-sink.js';
import { parseConfig } from '../src/config/config-schema.js';
import { canonicalDecisionLine } from '../src/session/event-messages.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { LossLog, type Loss } from '../src/stream/losses.js';
import type { Chunk } from '../src/stream/types.js';
import type { SessionEvent } from '../src/session/event-messages.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';
import { dataFile, PROJECT_ROOT } from './helpers/data.js';
import { until } from './helpers/ws-client.js';

/**
 * EEG over NATS with a real nats-server: a recording published by one process (`neurorx bus send`)
 * and decoded by another gives the decisions of a local run byte for byte; a malformed frame, a
 * gap of firstSample and a broker that stops and comes back are reported and cost nothing that
 * the bus retained.
 */
const have = haveNatsServer();
let server: NatsServer;
beforeAll(async () => {
  if (have) server = await NatsServer.start();
});
afterAll(async () => {
  await server?.dispose();
});
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function cli(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/neurorx.js', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}

function motorImagery(uri: string, calibration: string, events: Record<string, string> = { T1: 'left', T2: 'right' }) {
  return parseConfig({
    source: { uri, replay: { speed: 'max', chunkSize: 16 } },
    pipeline: { kind: 'motor-imagery', events, calibration: { from: 'recording', source: calibration } },
    server: { port: 0 },
  });
}

/** Runs a session, collecting its decisions as canonical lines (JSON without latencyMs). */
async function decide(config: ReturnType<typeof motorImagery>, lines: string[]): Promise<Session> {
  const session = await startSession<SessionEvent>(config, {
    onEvent: (e) => {
      if (e.kind === 'decision') lines.push(canonicalDecisionLine({ type: 'decision', ...e.decision }));
    },
  });
  cleanup.push(() => session.stop());
  return session;
}

const natsStats = (s: Source): { frames: number; samples: number; malformed: number; gaps: number } => s.stats!() as never;

/** A source fed by hand: chunks of `channels` x `samples` at 100 Hz numbered on from 0. */
function handSource(channels = 2) {
  const chunks = new Subject<Chunk>();
  const info = { name: 'hand', type: 'EEG', sourceId: 'test', channels: Array.from({ length: channels }, (_, c) => ({ label: `C${c}`, type: 'eeg' as const, unit: 'uV' })), sampleRate: 100 };
  let next = 0;
  const push = (samples = 10, skip = 0): void => {
    next += skip;
    chunks.next({ info, data: Float32Array.from({ length: samples * channels }, (_, i) => next + i), samples, firstSample: next, time: next / 100, markers: [], receivedAt: 0 });
    next += samples;
  };
  return { source: { info, chunks$: chunks.asObservable(), losses: new LossLog() }, push, sent: () => next };
}

/** Opens `uri`, collecting chunks and losses. */
async function consume(uri: string) {
  const source = await openSource(uri);
  const chunks: Chunk[] = [];
  const losses: Loss[] = [];
  const lossSub = source.losses.losses$.subscribe((l) => losses.push(l));
  let sub: Subscription = source.chunks$.subscribe((c) => chunks.push(c));
  cleanup.push(() => {
    sub.unsubscribe();
    lossSub.unsubscribe();
  });
  const samples = (): number => chunks.reduce((n, c) => n + c.samples, 0);
  const restart = (): void => {
    sub.unsubscribe();
    sub = source.chunks$.subscribe((c) => chunks.push(c));
  };
  return { source, chunks, losses, samples, restart };
}

/** Pushes a chunk every 50 ms until `cond` holds (what core NATS delivers depends on when the subscription reached the server). */
async function pushUntil(push: () => void, cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms`);
    push();
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function publish(src: ReturnType<typeof handSource>['source'], stream: string, jetstream: boolean, maxQueueBytes?: number): Promise<Publication> {
  const pub = await publishSource(src, { servers: server.url, stream, jetstream, ...(maxQueueBytes !== undefined ? { maxQueueBytes } : {}) });
  cleanup.push(() => pub.stop());
  return pub;
}

describe.runIf(have)('EEG over NATS', () => {
  it('a recording sent by `neurorx bus send` and decoded from the bus gives the decisions of a local run, byte for byte', async (ctx) => {
    const edf = dataFile('eegmmidb/S001/S001R04.edf');
    if (!edf) return ctx.skip();
    const local: string[] = [];
    const localSession = await decide(motorImagery(`file:${edf}`, `file:${edf}`), local);
    expect((await localSession.done).error).toBeUndefined();
    expect(local.length).toBeGreaterThan(50);

    const sent = await cli('bus', 'send', `file:${edf}`, '--nats', server.url, '--stream', 'eegmmidb-s1r4', '--jetstream', '--speed', 'max', '--chunk', '16');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toMatch(/sent 1250 frames, 20000 samples/);

    const remote: string[] = [];
    const session = await decide(motorImagery(`nats:eegmmidb-s1r4?servers=${server.url}&from=start`, `file:${edf}`), remote);
    await until(() => natsStats(session.source).samples === 20000 && remote.length >= local.length, 60_000);
    expect(session.source.losses.summary().totals).toMatchObject({ gaps: 0, warnings: 0 });
    expect(remote.join('\n')).toBe(local.join('\n'));
  }, 120_000);

  const lr = { left: 'left', right: 'right' };
  it('the same with a synthetic recording, and a malformed frame mid-stream is reported and skipped: no sample lost', async () => {
    const uri = 'synthetic:motor-imagery?seed=3&trials=10';
    const local: string[] = [];
    const localSession = await decide(motorImagery(uri, 'synthetic:motor-imagery?seed=1&trials=20', lr), local);
    expect((await localSession.done).error).toBeUndefined();

    const rec = await openSource(uri, { speed: 'max', chunkSize: 16 });
    const remote: string[] = [];
    const chunks = new Subject<Chunk>();
    const pub = await publishSource({ info: rec.info, chunks$: chunks, losses: rec.losses }, { servers: server.url, stream: 'synthetic-mi', jetstream: true });
    cleanup.push(() => pub.stop());
    const session = await decide(motorImagery(`nats:synthetic-mi?servers=${server.url}&from=start`, 'synthetic:motor-imagery?seed=1&trials=20', lr), remote);
    const nc = await connect({ servers: server.url });
    cleanup.push(() => nc.close());
    let samples = 0;
    let n = 0;
    await new Promise<void>((resolve, reject) =>
      rec.chunks$.subscribe({
        next: (c) => {
          chunks.next(c);
          samples += c.samples;
          if (++n === 200) {
            const bad = encodeFrame(c, 999_999);
            bad[8] = 7; // a channel count the stream does not have
            nc.publish(dataSubject('synthetic-mi'), bad);
          }
        },
        complete: resolve,
        error: reject,
      }),
    );
    await until(() => natsStats(session.source).samples === samples && remote.length >= local.length, 60_000);
    const summary = session.source.losses.summary();
    expect(summary.warnings).toHaveLength(1);
    expect(summary.warnings[0]).toMatch(/channel count 7 at byte 8, the stream "synthetic motor imagery" has 19; frame skipped/);
    expect(summary.totals.gaps).toBe(0);
    expect(natsStats(session.source).malformed).toBe(1);
    expect(remote.join('\n')).toBe(local.join('\n'));
  }, 120_000);

  it('a jump of firstSample is reported as a gap with its sample count', async () => {
    const hand = handSource();
    await publish(hand.source, 'gappy', true);
    const rx = await consume(`nats:gappy?servers=${server.url}&from=start`);
    hand.push(10);
    hand.push(10, 37);
    hand.push(10);
    await until(() => rx.chunks.length === 3, 10_000);
    expect(rx.chunks.map((c) => c.firstSample)).toEqual([0, 47, 57]);
    expect(rx.losses).toEqual([{ kind: 'gap', time: 0.1, samples: 37, seconds: 0.37, cause: 'lost by the publisher or its source' }]);
  });

  it('JetStream + durable consumer: a decoder that restarts and a broker that stops and comes back cost no frame', async () => {
    const hand = handSource();
    const pub = await publish(hand.source, 'durable-eeg', true);
    const rx = await consume(`nats:durable-eeg?servers=${server.url}&from=start&durable=decoder1`);
    for (let i = 0; i < 20; i++) hand.push();
    await until(() => rx.samples() === 200, 10_000);
    rx.restart(); // the decoder restarts: the durable consumer resumes after the last frame it acknowledged
    for (let i = 0; i < 20; i++) hand.push();
    await until(() => rx.samples() === 400, 10_000);

    await server.stop();
    await until(() => !pub.connected && rx.losses.some((l) => l.kind === 'warning' && /connection to NATS .* lost/.test(l.message)), 10_000);
    for (let i = 0; i < 20; i++) hand.push(); // queued by the publisher until JetStream is back
    await server.run();
    await until(() => rx.samples() === 600, 30_000);
    expect(rx.chunks.map((c) => c.firstSample)).toEqual(Array.from({ length: 60 }, (_, i) => i * 10));
    expect(rx.losses.filter((l) => l.kind === 'gap')).toEqual([]);
    expect(rx.losses.some((l) => l.kind === 'warning' && /reconnected to NATS/.test(l.message))).toBe(true);
  }, 60_000);

  it('core NATS: what the broker missed while it was down is reported as a gap with its sample count', async () => {
    const hand = handSource();
    const pub = await publish(hand.source, 'core-eeg', false, 0); // nothing held while disconnected
    const rx = await consume(`nats:core-eeg?servers=${server.url}`);
    await pushUntil(hand.push, () => rx.samples() > 0); // the subscription has reached the server
    const first = rx.chunks[0].firstSample;

    await server.stop();
    await until(() => !pub.connected, 10_000);
    for (let i = 0; i < 5; i++) hand.push(); // dropped: the broker is away
    await server.run();
    await until(() => pub.connected, 20_000);
    const before = rx.chunks.length;
    await pushUntil(hand.push, () => rx.chunks.length > before); // both ends are back
    const gaps = rx.losses.filter((l) => l.kind === 'gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ cause: expect.stringMatching(/frame\(s\) missing on the bus/) as string });
    const last = rx.chunks.at(-1)!;
    // every sample between the first and the last received is either received or in the gap
    expect(rx.samples() + (gaps[0].kind === 'gap' ? gaps[0].samples : 0)).toBe(last.firstSample + last.samples - first);
    expect(gaps[0].kind === 'gap' && gaps[0].samples).toBeGreaterThanOrEqual(50);
    expect(rx.losses.some((l) => l.kind === 'warning' && /connection to NATS .* lost/.test(l.message))).toBe(true);
  }, 60_000);

  it('a stream nobody describes: a clear error naming it, after a bounded wait', async () => {
    await expect(openSource(`nats:nobody?servers=${server.url}&timeout=0.5`)).rejects.toThrow(/no EEG stream "nobody" described in the NATS bucket neurorx_eeg_streams after 0.5 s/);
    await expect(openSource(`nats:a.b?servers=${server.url}`)).rejects.toThrow(/one NATS subject token/);
  });
});
