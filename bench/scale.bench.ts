/**
 * How far one machine scales (issue 17, item 7). Three figures:
 *
 * 1. sessionsPerCore, per decoder (csp-lda, tangent-space-lr): the largest N of sessions that one
 *    core decodes in real time: the process pinned to one core (taskset), N sessions in ONE worker
 *    thread of a SessionHost (the host's main thread shares the core), each replaying the same
 *    64-channel 160 Hz EDF (EEGMMIDB S001R04, or a synthetic stand-in) at real time in chunks of
 *    16 with a saved model, starts staggered over one hop. After a warm-up, a measured stretch of
 *    >= 20 s must give >= 97% of the N / hop decisions expected, decision latency p99 (plus the
 *    main thread's wait p99) < 10 ms, and every source within 2% of real time. N ramps up until a
 *    criterion fails, then one bisection step.
 * 2. natsLatencyMs: sample handed to the EEG publisher -> decision received by a NATS subscriber,
 *    both in this process, the session in a real `neurorx worker` process, nats-server on
 *    loopback; p50/p99 over 90 s (scale-nats.ts). Measured at the same time: the floor, the same
 *    hops with nothing of neurorx in them (scale-nats-echo.ts); and afterwards the machine's own
 *    stalls, a busy loop alone on each core (scale-stalls.ts). This part and the next run on
 *    every core: they are not per-core figures.
 * 3. gatewayMessagesPerSecond: decision messages delivered per second to K WebSocket clients of one
 *    bus-fed session (clients in a child process), every client getting every message in order.
 *
 *   npm run bench:scale
 *   NEURORX_SCALE_QUICK=1 npm run bench:scale      (small N and short stretches: a smoke run)
 *   NEURORX_SCALE_ONLY=sessions|nats|gateway         (one part only)
 *
 * Progress on stderr; the last stdout line is the JSON result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ChildGuard } from './child-guard.js';
import { benchRecording, KINDS, trainModel, type DecoderKind } from './scale-data.js';
import { gatewayFanOut, type GatewayResult } from './scale-gateway.js';
import { machine, pinnedRerun, unpinSelf } from './scale-machine.js';
import { natsLatency, type NatsLatency } from './scale-nats.js';
import { BenchNatsServer, haveNatsServer } from './scale-nats-server.js';
import { CRITERIA, sessionsPerCore, type StepResult } from './scale-sessions.js';
import { machineStalls, type CoreStalls } from './scale-stalls.js';

const quick = process.env.NEURORX_SCALE_QUICK === '1';
/** sessions, nats or gateway: run that part only (the others report null). */
const only = process.env.NEURORX_SCALE_ONLY;
const runs = (part: string): boolean => only === undefined || only === part;
const num = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);

/** Ramps per decoder: where to start, by how much to grow. */
const RAMPS: Record<DecoderKind, { start: number; step: number }> = quick
  ? { 'csp-lda': { start: 10, step: 10 }, 'tangent-space-lr': { start: 5, step: 5 } }
  : {
      'csp-lda': { start: num('NEURORX_SCALE_CSP_START', 100), step: num('NEURORX_SCALE_CSP_STEP', 100) },
      'tangent-space-lr': { start: num('NEURORX_SCALE_TS_START', 60), step: num('NEURORX_SCALE_TS_STEP', 10) },
    };
const SESSION_TIMING = quick ? { warmupS: 3, measureS: 5 } : { warmupS: 5, measureS: num('NEURORX_SCALE_MEASURE_S', 20) };
// 90 s: 360 decisions, so that the p99 is not the second worst of a handful.
const NATS_TIMING = quick ? { warmupS: 4, measureS: 5 } : { warmupS: 5, measureS: num('NEURORX_SCALE_NATS_S', 90) };
const GATEWAY = quick ? { clients: 100, rates: [100, 400], roundSeconds: 2 } : { clients: num('NEURORX_SCALE_CLIENTS', 1000), rates: [50, 100, 200, 400, 800, 1600], roundSeconds: 4 };
/** Seconds of the busy loop that counts the machine's stalls, per core. */
const STALL_SECONDS = quick ? 3 : 10;
/** Time for each decoder's ramp, so that the whole bench stays under ~10 minutes. */
const RAMP_SECONDS = quick ? 60 : num('NEURORX_SCALE_RAMP_S', 200);

const progress = (line: string): void => void process.stderr.write(line + '\n');

async function main(): Promise<void> {
  const rerun = pinnedRerun();
  if (rerun !== undefined) process.exit(rerun);
  const info = machine();
  const started = performance.now();
  progress(
    `bench:scale on ${info.cpu}, ${info.cores} cores, load ${info.loadAverageAtStart.join(' ')}, ${info.pinnedToCore === null ? 'not pinned' : `pinned to core ${info.pinnedToCore}`}${quick ? ' (quick)' : ''}`,
  );
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'neurorx-bench-scale-'));
  let nats: BenchNatsServer | undefined;
  const guard = new ChildGuard(async () => {
    await nats?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });
  try {
    const rec = await benchRecording(tmp);
    progress(`recording: ${rec.what} (${rec.file})`);
    const models = {} as Record<DecoderKind, string>;
    for (const kind of KINDS.filter((k) => runs('sessions') || (k === 'csp-lda' && runs('nats')))) {
      models[kind] = await trainModel(rec, kind, tmp, progress);
      progress(`model ${kind} trained on the recording: ${models[kind]}`);
    }

    const perCore = {} as Record<DecoderKind, number>;
    const perCoreStrict = {} as Record<DecoderKind, number>;
    const steps: StepResult[] = [];
    for (const kind of runs('sessions') ? KINDS : []) {
      progress(`sessions per core, ${kind}:`);
      const deadline = performance.now() + RAMP_SECONDS * 1000;
      const r = await sessionsPerCore(kind, rec, models[kind], { ...RAMPS[kind], max: 5000, deadline }, SESSION_TIMING, progress);
      perCore[kind] = r.sessionsPerCore;
      perCoreStrict[kind] = r.strict;
      steps.push(...r.steps);
      progress(`=> ${kind}: ${r.sessionsPerCore} sessions per core (${r.strict} with host delay p99 < 10 ms too)`);
    }

    const noServer = { skipped: 'nats-server is not installed (apt-get install nats-server)' };
    let natsLatencyMs: NatsLatency | { skipped: string } = runs('nats') ? noServer : { skipped: `NEURORX_SCALE_ONLY=${only}` };
    let gateway: GatewayResult | { skipped: string } = runs('gateway') ? noServer : { skipped: `NEURORX_SCALE_ONLY=${only}` };
    if (haveNatsServer() && (runs('nats') || runs('gateway'))) {
      if (unpinSelf()) progress('the rest runs on every core (a latency and a fan-out figure are not per core)');
      nats = await BenchNatsServer.start(guard);
      progress(`nats-server on ${nats.url}; sample -> NATS decision subscriber:`);
      if (runs('nats')) natsLatencyMs = await natsLatency(nats.url, guard, rec, models['csp-lda'], NATS_TIMING, progress);
      progress(`gateway fan-out to ${GATEWAY.clients} WebSocket clients:`);
      if (runs('gateway')) gateway = await gatewayFanOut(nats.url, guard, { ...GATEWAY, deadline: performance.now() + 120_000 }, progress);
    } else if (!haveNatsServer()) progress('nats-server is not installed: no NATS latency, no gateway figure');
    // Last, with nothing else running: the machine's own stalls, which every latency above includes.
    const stalls: CoreStalls[] = runs('nats') ? machineStalls(STALL_SECONDS) : [];
    for (const s of stalls) progress(`core ${s.core}: ${s.over1msPerSecond} stalls > 1 ms per second, ${s.over3ms} > 3 ms, longest ${s.maxMs} ms (a busy loop alone on it, ${s.seconds} s)`);

    const result = {
      sessionsPerCore: perCore,
      /** The same with host delay p99 < 10 ms too (a decision's arrival on the host's main thread vs the replay clock). */
      sessionsPerCoreStrict: perCoreStrict,
      natsLatencyMs: 'p50' in natsLatencyMs ? { p50: natsLatencyMs.p50, p99: natsLatencyMs.p99 } : null,
      gatewayMessagesPerSecond: 'gatewayMessagesPerSecond' in gateway ? gateway.gatewayMessagesPerSecond : null,
      criteria: {
        sessionsPerCore: {
          decisionsPerSecond: `>= ${CRITERIA.minDecisionShare * 100}% of N / hop (hop 0.25 s)`,
          latencyP99Ms: `decision latencyMs p99 < ${CRITERIA.maxLatencyP99Ms}`,
          strict: `also host delay p99 (arrival on the host's main thread vs the replay clock, beyond the session's best) < ${CRITERIA.maxLatencyP99Ms}`,
          realTime: `stream time / wall time of every session within ${CRITERIA.maxRealTimeDeviation * 100}% of 1`,
          measuredSeconds: SESSION_TIMING.measureS,
          warmupSeconds: SESSION_TIMING.warmupS,
        },
        natsLatencyTargetP99Ms: 5,
      },
      setup: {
        recording: rec.what,
        channels: 64,
        sampleRate: 160,
        chunk: 16,
        hop: 0.25,
        window: 2,
        sessionsPerThread: 'N (all in one worker thread)',
        recordingCache: 'devices/file/recording-cache.ts: one copy of the EDF for all sessions',
        quick,
      },
      steps,
      nats: natsLatencyMs,
      gateway,
      machine: { ...info, stalls },
      loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      seconds: Math.round((performance.now() - started) / 1000),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await nats?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:scale: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
