import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { SessionHost } from '../src/host/session-host.js';
import type { OutboundMessage } from '../src/server/messages.js';
import { CHUNK, HOP, RATE, sessionConfig, type BenchRecording, type DecoderKind } from './scale-data.js';

/**
 * Sessions per core: N sessions of one decoder in ONE worker thread of a SessionHost (so the host's
 * main thread and that worker share the one core the bench is pinned to), each replaying the same
 * EDF at real time in chunks of 16 and decoding with the same saved model. After a warm-up, a
 * measured stretch checks the criteria; the ramp raises N until one fails.
 */

export interface StepCriteria {
  /** Decisions per second at least this share of N / hop. */
  readonly minDecisionShare: number;
  /** p99 of the decisions' latencyMs, and p99 of their delay in reaching the host's main thread (hostDelayMs), each below this, ms. */
  readonly maxLatencyP99Ms: number;
  /** Stream time advanced per wall-clock time, in every session: within this of 1. */
  readonly maxRealTimeDeviation: number;
}

export const CRITERIA: StepCriteria = { minDecisionShare: 0.97, maxLatencyP99Ms: 10, maxRealTimeDeviation: 0.02 };

export interface StepResult {
  readonly kind: DecoderKind;
  readonly sessions: number;
  /** The criteria held: decisions, latencyMs p99, real time. */
  readonly passed: boolean;
  readonly failed: readonly string[];
  /** They held and so did host delay p99 < 10 ms (stricter: counts the paced replay's timers running late on a busy core). */
  readonly passedStrict: boolean;
  readonly measuredSeconds: number;
  readonly decisionsPerSecond: number;
  readonly expectedDecisionsPerSecond: number;
  /** The decisions' own latencyMs (chunk handed over by the source -> decision, in the worker). */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Event-loop delay of the host's main thread (how late a timer there runs), informative: the main thread shares the core with the sessions' thread. */
  readonly mainThreadDelayMs: { readonly p50: number; readonly p99: number };
  /**
   * Per decision: its arrival on the host's main thread less the stream time at which the chunk
   * holding its last sample was due (the replay's clock), minus the smallest such lag of its
   * session (the session's fixed offset): how much later than at best a decision reaches the host.
   * Counts the paced replay's timer running late, decoding, and the worker -> main-thread hop.
   */
  readonly hostDelayMs: { readonly p50: number; readonly p99: number };
  /** Stream time advanced / wall time, over the stretch: the slowest and the fastest session. */
  readonly realTime: { readonly min: number; readonly max: number };
  /** CPU time of the whole process (every thread) per wall second: the share of the one core. */
  readonly cpu: number;
  readonly rssMb: number;
  /** RSS growth over the host without sessions, per session. */
  readonly rssPerSessionMb: number;
  readonly startSeconds: number;
}

interface Track {
  count: number;
  firstTs: number;
  firstAt: number;
  lastTs: number;
  lastAt: number;
  minLag: number;
  lags: number[];
}

/** Stream time (s) at which the chunk holding the sample at time `t` was complete (a decision cannot come before). */
const chunkDue = (t: number): number => ((Math.floor(Math.round(t * RATE) / CHUNK) + 1) * CHUNK) / RATE;

/** Host log lines worth showing (failures, restarts, threads), not every session's status. */
const WORTH_LOGGING = /fail|restart|stall|died|memory|error|exited/i;

const quantile = (sorted: ArrayLike<number>, p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runStep(kind: DecoderKind, n: number, rec: BenchRecording, model: string, timing: { warmupS: number; measureS: number }, progress: (line: string) => void): Promise<StepResult> {
  const rssBase = process.memoryUsage().rss;
  const host = new SessionHost({ sessionsPerThread: n, maxHeapMb: 0, stallTimeoutMs: 30_000, log: (line) => (WORTH_LOGGING.test(line) ? progress(`  host: ${line}`) : undefined) });
  const tracks: Track[] = [];
  const latencies: number[] = [];
  let measuring = false;
  const t0 = performance.now();
  try {
    // Starts spread over one hop, so that the sessions' decisions do not all fall due at once.
    const opened = [];
    for (let i = 0; i < n; i++) {
      const id = `${kind}-${i}`;
      const track: Track = { count: 0, firstTs: NaN, firstAt: NaN, lastTs: NaN, lastAt: NaN, minLag: Infinity, lags: [] };
      tracks.push(track);
      opened.push(
        host.create(id, sessionConfig(id, `file:${rec.file}?loop=true&speed=1&chunk=${CHUNK}`, rec, kind, { path: model })).then((s) =>
          s.attach({
            broadcast(m: OutboundMessage) {
              if (m.type !== 'decision' || !measuring) return;
              const at = performance.now();
              const d = m as { timestamp: number; latencyMs: number };
              const due = chunkDue(d.timestamp);
              if (track.count++ === 0) {
                track.firstTs = due;
                track.firstAt = at;
              }
              track.lastTs = due;
              track.lastAt = at;
              const lag = at - due * 1000;
              track.minLag = Math.min(track.minLag, lag);
              track.lags.push(lag);
              latencies.push(d.latencyMs);
            },
          }),
        ),
      );
      await new Promise((r) => setTimeout(r, (HOP * 1000) / n));
    }
    await Promise.all(opened);
    const startSeconds = (performance.now() - t0) / 1000;
    progress(`  ${n} ${kind} sessions open in ${startSeconds.toFixed(1)} s (one thread); warming up ${timing.warmupS} s`);
    await new Promise((r) => setTimeout(r, timing.warmupS * 1000));

    const loop = monitorEventLoopDelay({ resolution: 1 });
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    measuring = true;
    loop.enable();
    await new Promise((r) => setTimeout(r, timing.measureS * 1000));
    measuring = false;
    loop.disable();
    const wall = (performance.now() - wall0) / 1000;
    const cpuUsed = process.cpuUsage(cpu0);
    const rss = process.memoryUsage().rss;

    const decisions = tracks.reduce((s, t) => s + t.count, 0);
    latencies.sort((a, b) => a - b);
    const jitter = Float64Array.from(tracks.flatMap((t) => t.lags.map((l) => l - t.minLag))).sort();
    const rates = tracks.map((t) => (t.count >= 2 ? (t.lastTs - t.firstTs) / ((t.lastAt - t.firstAt) / 1000) : 0));
    const expected = n / HOP;
    const latency = { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)), max: round(latencies[latencies.length - 1] ?? NaN) };
    const mainDelay = { p50: round(loop.percentile(50) / 1e6), p99: round(loop.percentile(99) / 1e6) };
    const result = {
      kind,
      sessions: n,
      measuredSeconds: round(wall, 2),
      decisionsPerSecond: round(decisions / wall, 1),
      expectedDecisionsPerSecond: expected,
      latencyMs: latency,
      mainThreadDelayMs: mainDelay,
      hostDelayMs: { p50: round(quantile(jitter, 0.5)), p99: round(quantile(jitter, 0.99)) },
      realTime: { min: round(Math.min(...rates), 4), max: round(Math.max(...rates), 4) },
      cpu: round((cpuUsed.user + cpuUsed.system) / 1e6 / wall),
      rssMb: Math.round(rss / 2 ** 20),
      rssPerSessionMb: round((rss - rssBase) / 2 ** 20 / n, 2),
      startSeconds: round(startSeconds, 1),
    };
    const failed: string[] = [];
    const strict = result.hostDelayMs.p99 < CRITERIA.maxLatencyP99Ms;
    if (result.decisionsPerSecond < CRITERIA.minDecisionShare * expected) failed.push(`decisions/s ${result.decisionsPerSecond} < ${CRITERIA.minDecisionShare * 100}% of ${expected}`);
    if (!(latency.p99 < CRITERIA.maxLatencyP99Ms)) failed.push(`latency p99 ${latency.p99} >= ${CRITERIA.maxLatencyP99Ms} ms`);
    if (!(Math.abs(result.realTime.min - 1) <= CRITERIA.maxRealTimeDeviation && Math.abs(result.realTime.max - 1) <= CRITERIA.maxRealTimeDeviation)) {
      failed.push(`a source off real time (stream/wall ${result.realTime.min}..${result.realTime.max})`);
    }
    progress(
      `  N=${n} ${kind}: ${result.decisionsPerSecond}/${expected} decisions/s, latency p50 ${latency.p50} p99 ${latency.p99} ms, main-thread delay p99 ${mainDelay.p99} ms, ` +
        `host delay p99 ${result.hostDelayMs.p99} ms, real time ${result.realTime.min}..${result.realTime.max}, CPU ${(result.cpu * 100).toFixed(0)}% of the core, RSS ${result.rssMb} MB ` +
        `(${result.rssPerSessionMb} MB/session): ${failed.length ? 'FAIL (' + failed.join('; ') + ')' : 'pass'}${failed.length === 0 && !strict ? ' (not strictly: host delay p99 >= 10 ms)' : ''}`,
    );
    return { ...result, passed: failed.length === 0, failed, passedStrict: failed.length === 0 && strict };
  } finally {
    await host.close();
  }
}

/**
 * Ramps N from `start` by `step` while the criteria hold, then bisects once between the last pass
 * and the first failure; when `start` itself fails, halves N until one passes. Within `deadline`.
 * Gives the largest N that passed, and the largest that passed strictly (host delay too).
 */
export async function sessionsPerCore(
  kind: DecoderKind,
  rec: BenchRecording,
  model: string,
  ramp: { start: number; step: number; max: number; deadline: number },
  timing: { warmupS: number; measureS: number },
  progress: (line: string) => void,
): Promise<{ sessionsPerCore: number; strict: number; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  const stepSeconds = timing.warmupS + timing.measureS + 10;
  const time = (): boolean => performance.now() + stepSeconds * 1000 < ramp.deadline;
  const run = async (n: number): Promise<boolean> => {
    const r = await runStep(kind, n, rec, model, timing, progress);
    steps.push(r);
    return r.passed;
  };
  let best = 0;
  let failedAt: number | undefined;
  for (let n = ramp.start; n <= ramp.max && time(); n += ramp.step) {
    if (!(await run(n))) {
      failedAt = n;
      break;
    }
    best = n;
  }
  if (best === 0) {
    for (let n = Math.floor(ramp.start / 2); n >= 1 && time(); n = Math.floor(n / 2)) {
      if (await run(n)) {
        best = n;
        break;
      }
      failedAt = n;
    }
  }
  if (failedAt !== undefined && time()) {
    const mid = Math.round((best + failedAt) / 2);
    if (mid > best && mid < failedAt && (await run(mid))) best = mid;
  }
  const strict = Math.max(0, ...steps.filter((s) => s.passedStrict).map((s) => s.sessions));
  return { sessionsPerCore: best, strict, steps };
}
