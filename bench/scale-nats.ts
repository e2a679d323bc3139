import type { ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { tap } from 'rxjs';
import { publishSource } from '../devices/nats/nats-sink.js';
import { dataSubject } from '../devices/nats/eeg-bus-names.js';
import { openSource } from '../devices/open-source.js';
import { SessionDirectory } from '../src/bus/session-directory.js';
import { natsSubjects } from '../src/bus/subjects.js';
import type { ChildGuard } from './child-guard.js';
import { CHUNK, RATE, sessionConfig, type BenchRecording } from './scale-data.js';
import { unpinned } from './scale-nats-server.js';

/**
 * Sample to NATS consumer, across processes as deployed: this process is the acquisition side and
 * the consumer (one clock for both ends); a real `neurorx worker --nats` in a process of its own
 * (not pinned) is handed the session through the directory, decodes the `nats:` stream in its
 * session thread and publishes the decisions on `neurorx.<id>.decision`.
 *
 *   latency = a decision's receipt here - the moment the frame holding the last sample of its
 *             window was handed to the NATS client (publish)
 *
 * So it holds both hops (frame to the worker, decision to the subscriber), the worker's thread
 * hop, the decoding and the server twice. For comparison, `fromDelivery` starts instead at this
 * process's own receipt of that frame from the server (a subscriber of the data subject next to
 * the worker's): roughly what is left once the worker has the sample.
 */

export interface NatsLatency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly decisions: number;
  readonly measuredSeconds: number;
  /** The frame's delivery to a subscriber of the data subject here -> the decision's receipt. */
  readonly fromDelivery: { readonly p50: number; readonly p99: number };
  /** The same decisions' latencyMs as the session reports it (frame received by its source -> decision), for comparison. */
  readonly sessionLatencyMs: { readonly p50: number; readonly p99: number };
  /** Decisions whose frame could not be found (none expected). */
  readonly uncorrelated: number;
  readonly worker: string;
  /**
   * The floor, measured at the same time: the same frames through the same topology with nothing of
   * neurorx in it (scale-nats-echo.ts: a thread of another process takes each frame off NATS, its
   * main thread publishes an answer). What neurorx adds is the difference.
   */
  readonly floor: { readonly p50: number; readonly p99: number; readonly max: number; readonly frames: number };
}

/** Publish (and delivery) times of the last RING frames, by frame index (firstSample / CHUNK). */
const RING = 1 << 16;
/** How long the worker may take to claim the session and decide for the first time. */
const FIRST_DECISION_MS = 60_000;
/** A 64-channel frame of 16 samples: header and float32 samples. */
const ECHO_BYTES = 48 + 4 * 64 * CHUNK;

const quantile = (sorted: ArrayLike<number>, p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const round = (x: number): number => Math.round(x * 1000) / 1000;
const sorted = (xs: number[]): number[] => xs.sort((a, b) => a - b);

export async function natsLatency(
  url: string,
  guard: ChildGuard,
  rec: BenchRecording,
  model: string,
  timing: { warmupS: number; measureS: number },
  progress: (line: string) => void,
): Promise<NatsLatency> {
  const stream = 'bench-scale';
  const id = 'bench-scale-nats';
  const sentAt = new Float64Array(RING).fill(NaN);
  const deliveredAt = new Float64Array(RING).fill(NaN);
  const sentFrame = new Float64Array(RING).fill(-1);
  const echo = { prefix: 'bench.echo', latencies: [] as number[] };
  let nc: NatsConnection | undefined;
  const source = await openSource(`file:${rec.file}?loop=true&speed=1&chunk=${CHUNK}`);
  const chunks$ = source.chunks$.pipe(
    tap((c) => {
      // (the publisher encodes and publishes this chunk right after, synchronously)
      const frame = Math.floor(c.firstSample / CHUNK);
      sentAt[frame % RING] = performance.now();
      sentFrame[frame % RING] = frame;
      // The floor's frame: as large as the real one, handed to NATS in the same tick (both are
      // flushed together), so it shares the publish time.
      const bytes = new Uint8Array(ECHO_BYTES);
      new DataView(bytes.buffer).setFloat64(0, frame, true);
      nc?.publish(`${echo.prefix}.in`, bytes);
    }),
  );
  const publication = await publishSource({ info: source.info, chunks$, losses: source.losses }, { servers: url, stream });
  let worker: ChildProcess | undefined;
  let echoChild: ChildProcess | undefined;
  let directory: SessionDirectory | undefined;
  try {
    nc = await connect({ servers: url, name: 'bench:scale subscriber' });
    directory = await SessionDirectory.open(nc);
    const latencies: number[] = [];
    const fromDelivery: number[] = [];
    const sessionLatencies: number[] = [];
    let uncorrelated = 0;
    let measuring = false;
    let firstDecision: (() => void) | undefined;
    const decided = new Promise<void>((resolve) => (firstDecision = resolve));
    nc.subscribe(dataSubject(stream), {
      callback: (err, msg) => {
        if (err) return;
        const at = performance.now();
        const frame = Math.floor(Number(new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).getBigUint64(24, true)) / CHUNK);
        deliveredAt[frame % RING] = at;
      },
    });
    nc.subscribe(natsSubjects.message(id, 'decision'), {
      callback: (err, msg) => {
        const at = performance.now();
        firstDecision?.();
        if (err || !measuring) return;
        const d = msg.json<{ timestamp: number; latencyMs: number }>();
        const frame = Math.floor(Math.round(d.timestamp * RATE) / CHUNK);
        if (sentFrame[frame % RING] !== frame) {
          uncorrelated++;
          return;
        }
        latencies.push(at - sentAt[frame % RING]);
        fromDelivery.push(at - deliveredAt[frame % RING]);
        sessionLatencies.push(d.latencyMs);
      },
    });
    nc.subscribe(`${echo.prefix}.out`, {
      callback: (err, msg) => {
        const at = performance.now();
        if (err || !measuring) return;
        const frame = new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).getFloat64(0, true);
        echo.latencies.push(at - sentAt[frame % RING]);
      },
    });
    await nc.flush();
    echoChild = await startEcho(guard, url, echo.prefix);
    const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    const [cmd, args] = unpinned(process.execPath, [cli, 'worker', '--nats', url, '--name', 'bench']);
    worker = guard.spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr?.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) progress(`  ${line}`);
    });
    await directory.put(id, sessionConfig(id, `nats:${stream}?servers=${encodeURIComponent(url)}`, rec, 'csp-lda', { path: model }));
    progress(`  session ${id} put in the directory for a \`neurorx worker\` (pid ${worker.pid}) to decode nats:${stream}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([decided, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no decision from the worker in ${FIRST_DECISION_MS / 1000} s`)), FIRST_DECISION_MS)))]);
    clearTimeout(timer);
    progress(`  deciding; warming up ${timing.warmupS} s`);
    await new Promise((r) => setTimeout(r, timing.warmupS * 1000));
    const t0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, timing.measureS * 1000));
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    sorted(latencies);
    sorted(fromDelivery);
    sorted(sessionLatencies);
    sorted(echo.latencies);
    const result: NatsLatency = {
      p50: round(quantile(latencies, 0.5)),
      p99: round(quantile(latencies, 0.99)),
      max: round(latencies[latencies.length - 1] ?? NaN),
      decisions: latencies.length,
      measuredSeconds: round(seconds),
      fromDelivery: { p50: round(quantile(fromDelivery, 0.5)), p99: round(quantile(fromDelivery, 0.99)) },
      sessionLatencyMs: { p50: round(quantile(sessionLatencies, 0.5)), p99: round(quantile(sessionLatencies, 0.99)) },
      uncorrelated,
      worker: '`neurorx worker --nats` in a process of its own, the session in one of its threads',
      floor: { p50: round(quantile(echo.latencies, 0.5)), p99: round(quantile(echo.latencies, 0.99)), max: round(echo.latencies[echo.latencies.length - 1] ?? NaN), frames: echo.latencies.length },
    };
    progress(
      `  NATS sample -> decision subscriber: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms over ${result.decisions} decisions in ${result.measuredSeconds} s (from the frame's delivery: p99 ${result.fromDelivery.p99} ms; session's own latency p99 ${result.sessionLatencyMs.p99} ms)`,
    );
    progress(`  the floor (the same hops, no neurorx): p50 ${result.floor.p50} ms, p99 ${result.floor.p99} ms, max ${result.floor.max} ms over ${result.floor.frames} frames`);
    return result;
  } finally {
    await directory?.delete(id).catch(() => {});
    if (worker && worker.exitCode === null) {
      const w = worker;
      w.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => w.kill('SIGKILL'), 10_000);
        w.once('exit', () => r(clearTimeout(t)));
      });
    }
    echoChild?.kill('SIGKILL');
    await publication.stop();
    await nc?.close();
  }
}

/** Starts scale-nats-echo.js (not pinned) and waits for its "ready". */
async function startEcho(guard: ChildGuard, url: string, prefix: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./scale-nats-echo.js', import.meta.url));
  const [cmd, args] = unpinned(process.execPath, [script, url, prefix]);
  const child = guard.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the echo process did not start in 30 s')), 30_000);
    child.stdout!.setEncoding('utf8').once('data', () => resolve(clearTimeout(timer)));
    child.once('exit', (code) => reject(new Error(`the echo process exited (${code})`)));
  });
  return child;
}
