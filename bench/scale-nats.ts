import { connect, type NatsConnection } from 'nats';
import { performance } from 'node:perf_hooks';
import { tap } from 'rxjs';
import { publishSource } from '../devices/nats/nats-sink.js';
import { openSource } from '../devices/open-source.js';
import { natsSubjects } from '../src/bus/subjects.js';
import { SessionHost } from '../src/host/session-host.js';
import { CHUNK, RATE, sessionConfig, type BenchRecording } from './scale-data.js';

/**
 * Sample to NATS consumer: a publisher in this process sends the recording as EEG frames (real
 * time, chunks of 16) on the bus; sessions in SessionHost worker threads (one each) decode the
 * `nats:` stream; each one's NATS bus (from its config, attached in that thread) publishes its decisions on
 * `neurorx.<id>.decision`; a subscriber in this process receives them. One
 * process, one clock: latency = receipt of a decision - the moment the frame holding the last
 * sample of its window was handed to the publisher.
 */

export interface NatsLatency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly decisions: number;
  readonly measuredSeconds: number;
  /** The same decisions' latencyMs as the session reports it (frame received by its source -> decision), for comparison. */
  readonly sessionLatencyMs: { readonly p50: number; readonly p99: number };
  /** Decisions whose frame could not be found (none expected). */
  readonly uncorrelated: number;
}

/** Sessions decoding the stream at once: one, as a worker's session would. */
const DECODERS = 1;

/** Publish times of the last RING frames, by frame index (firstSample / CHUNK). */
const RING = 1 << 16;

const quantile = (sorted: ArrayLike<number>, p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const round = (x: number): number => Math.round(x * 1000) / 1000;

export async function natsLatency(url: string, rec: BenchRecording, model: string, timing: { warmupS: number; measureS: number }, progress: (line: string) => void): Promise<NatsLatency> {
  const stream = 'bench-scale';
  // (DECODERS sessions of the one stream, each in its own thread publishing its own decisions, share
  // the pinned core with the publisher and the subscriber.)
  const ids = Array.from({ length: DECODERS }, (_, i) => `bench-scale-nats-${i}`);
  const sentAt = new Float64Array(RING).fill(NaN);
  const sentFrame = new Float64Array(RING).fill(-1);
  const source = await openSource(`file:${rec.file}?loop=true&speed=1&chunk=${CHUNK}`);
  const chunks$ = source.chunks$.pipe(
    tap((c) => {
      // (the publisher encodes and publishes this chunk right after, synchronously)
      const frame = Math.floor(c.firstSample / CHUNK);
      sentAt[frame % RING] = performance.now();
      sentFrame[frame % RING] = frame;
    }),
  );
  const publication = await publishSource({ info: source.info, chunks$, losses: source.losses }, { servers: url, stream });
  const host = new SessionHost({ maxHeapMb: 0, log: (line) => progress(`  host: ${line}`) });
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, name: 'bench:scale subscriber' });
    const latencies: number[] = [];
    const sessionLatencies: number[] = [];
    let uncorrelated = 0;
    let measuring = false;
    nc.subscribe(natsSubjects.message('*', 'decision'), {
      callback: (err, msg) => {
        const at = performance.now();
        if (err || !measuring) return;
        const d = msg.json<{ timestamp: number; latencyMs: number }>();
        const frame = Math.floor(Math.round(d.timestamp * RATE) / CHUNK);
        if (sentFrame[frame % RING] !== frame) {
          uncorrelated++;
          return;
        }
        latencies.push(at - sentAt[frame % RING]);
        sessionLatencies.push(d.latencyMs);
      },
    });
    await nc.flush();
    // The session's NATS bus from its config: attached in its worker thread, next to the decoder.
    for (const id of ids)
      await host.create(id, sessionConfig(id, `nats:${stream}?servers=${encodeURIComponent(url)}`, rec, 'csp-lda', { path: model }, { bus: { nats: { servers: url, session: id } } }));
    progress(`  ${DECODERS} sessions decoding nats:${stream}, each in a worker thread; warming up ${timing.warmupS} s`);
    await new Promise((r) => setTimeout(r, timing.warmupS * 1000));
    const t0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, timing.measureS * 1000));
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    sessionLatencies.sort((a, b) => a - b);
    const result: NatsLatency = {
      p50: round(quantile(latencies, 0.5)),
      p99: round(quantile(latencies, 0.99)),
      max: round(latencies[latencies.length - 1] ?? NaN),
      decisions: latencies.length,
      measuredSeconds: round(seconds),
      sessionLatencyMs: { p50: round(quantile(sessionLatencies, 0.5)), p99: round(quantile(sessionLatencies, 0.99)) },
      uncorrelated,
    };
    progress(
      `  NATS sample -> decision subscriber: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms over ${result.decisions} decisions in ${result.measuredSeconds} s (session's own latency p99 ${result.sessionLatencyMs.p99} ms)`,
    );
    return result;
  } finally {
    await host.close();
    await publication.stop();
    await nc?.close();
  }
}
