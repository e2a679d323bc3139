/**
 * Motor-imagery pipeline benchmark on a real recording (PhysioNet EEGMMIDB subject 1: 64 channels,
 * 160 Hz). Calibrates CSP+LDA on runs 6 and 10, then:
 *  1. replays run 14 as fast as possible in chunks of 10 samples (20 passes, ~40 min of signal,
 *     after 2 warm-up passes), once through the pipeline alone and once with a WebSocket client
 *     through band-pass -> sliding windows -> CSP+LDA -> WebSocket broadcast, timing every chunk
 *     from hand-over to the end of its synchronous processing: p50/p99 per-chunk latency and
 *     throughput as a multiple of real time;
 *  2. replays run 14 paced (10x real time) to a WebSocket client on loopback and measures the
 *     end-to-end latency from a chunk being handed to the pipeline to the decision it completes
 *     being parsed by the client: p50/p99.
 * Usage: npm run bench  (NEURORX_DATA points at the folder holding eegmmidb/)
 */
import { performance } from 'node:perf_hooks';
import { Subject, tap } from 'rxjs';
import WebSocket from 'ws';
import { defaultDataDir, eegmmidbEvents, readEegmmidbRun } from '../devices/datasets/eegmmidb.js';
import { replayRecording } from '../devices/file/replay.js';
import { epochsFromRecording, preprocessingOf, resolveChannels, trainModel } from '../pipelines/motor-imagery/calibrate.js';
import { decoderSpec } from '../src/ml/decoders/decoder-spec.js';
import { classifyWindows } from '../pipelines/motor-imagery/pipeline.js';
import { preprocess } from '../pipelines/motor-imagery/preprocess.js';
import type { Chunk } from '../src/stream/types.js';
import { BciServer } from '../src/server/ws-server.js';
import type { HelloInfo } from '../src/server/messages.js';
import { wsText } from '../src/server/ws-text.js';

const CHUNK = 10;
const PASSES = 20;
const WARMUP_PASSES = 2;
const WINDOW = { length: 1, hop: 0.25 };

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const dataDir = defaultDataDir();
  const settings = {
    reference: 'none' as const,
    notch: null,
    bandpass: { low: 7, high: 30, order: 4 },
    epoch: { tmin: 1, tmax: 2 },
    decoder: decoderSpec({ kind: 'csp-lda', components: 4, shrinkage: 'auto' }),
  };
  const train = [await readEegmmidbRun(dataDir, 1, 6), await readEegmmidbRun(dataDir, 1, 10)];
  const channels = resolveChannels(train[0].info, undefined);
  const epochs = (await Promise.all(train.map((r, i) => epochsFromRecording(r, channels, { ...preprocessingOf(settings), ...settings, events: eegmmidbEvents([6, 10][i]) })))).flat();
  const model = await trainModel(epochs, channels, train[0].info.sampleRate, settings);
  const test = await readEegmmidbRun(dataDir, 1, 14);
  const rate = test.info.sampleRate;
  const nCh = test.info.channels.length;

  const hello = (): HelloInfo => ({
    type: 'hello',
    protocol: 2,
    server: 'neurorx bench',
    pipeline: { kind: 'motor-imagery', name: 'bench' },
    stream: { name: test.info.name, type: 'EEG', sampleRate: rate, channels: channels },
    state: 'running',
    classes: [...model.classes],
  });
  const server = await BciServer.start({ port: 0 }, hello);

  // 1. Throughput and per-chunk latency, as fast as possible: the pipeline alone (filter ->
  //    windows -> CSP -> LDA), then the same with every decision broadcast to one connected client.
  const fast = async (broadcast: boolean): Promise<{ sorted: Float64Array; wall: number; decisions: number }> => {
    const sink = broadcast ? new WebSocket(server.address.url) : undefined;
    if (sink) await new Promise((r) => sink.once('open', r));
    const input = new Subject<Chunk>();
    let decisions = 0;
    const sub = input.pipe(preprocess(channels, model.file.preprocessing), classifyWindows(model, WINDOW)).subscribe((d) => {
      decisions++;
      if (broadcast) server.broadcast({ type: 'decision', ...d });
    });
    const chunksPerPass = Math.ceil(test.samples / CHUNK);
    const latencies = new Float64Array(chunksPerPass * PASSES);
    let k = 0;
    let t0 = performance.now();
    for (let pass = -WARMUP_PASSES; pass < PASSES; pass++) {
      if (pass === 0) t0 = performance.now();
      for (let first = 0; first < test.samples; first += CHUNK) {
        const n = Math.min(CHUNK, test.samples - first);
        const global = (pass + WARMUP_PASSES) * test.samples + first;
        const start = performance.now();
        input.next({
          info: test.info,
          data: test.data.subarray(first * nCh, (first + n) * nCh),
          samples: n,
          firstSample: global,
          time: global / rate,
          markers: [],
          receivedAt: start,
        });
        if (pass >= 0) latencies[k++] = performance.now() - start;
      }
      await new Promise((r) => setImmediate(r)); // let the socket flush between passes
    }
    const wall = (performance.now() - t0) / 1000;
    sub.unsubscribe();
    sink?.close();
    return { sorted: latencies.slice(0, k).sort(), wall, decisions };
  };
  const alone = await fast(false);
  const withWs = await fast(true);
  const signalSeconds = (PASSES * test.samples) / rate;

  // 2. End-to-end latency to a WebSocket client on loopback, paced at 10x real time.
  const client = new WebSocket(server.address.url);
  await new Promise((r) => client.once('open', r));
  const handedOver = new Map<number, number>();
  const e2e: number[] = [];
  client.on('message', (raw) => {
    const now = performance.now();
    const m = JSON.parse(wsText(raw)) as { type: string; seq: number };
    if (m.type !== 'decision') return;
    const t = handedOver.get(m.seq);
    if (t !== undefined) e2e.push(now - t);
  });
  await new Promise<void>((resolve, reject) => {
    replayRecording(test, { speed: 10, chunkSize: CHUNK })
      .pipe(
        preprocess(channels, model.file.preprocessing),
        classifyWindows(model, WINDOW),
        tap((d) => handedOver.set(d.seq, performance.now() - d.latencyMs)),
      )
      .subscribe({ next: (d) => server.broadcast({ type: 'decision', ...d }), error: reject, complete: resolve });
  });
  await new Promise((r) => setTimeout(r, 200));
  client.close();
  await server.close();
  const e2eSorted = Float64Array.from(e2e).sort();

  const summary = (r: { sorted: Float64Array; wall: number }) => ({
    p50: quantile(r.sorted, 0.5),
    p99: quantile(r.sorted, 0.99),
    max: r.sorted[r.sorted.length - 1],
    throughputXRealTime: signalSeconds / r.wall,
  });
  const result = {
    recording: `${test.info.sourceId} (${nCh} ch, ${rate} Hz), ${PASSES} passes after ${WARMUP_PASSES} warm-up`,
    chunkSize: CHUNK,
    window: WINDOW,
    chunks: alone.sorted.length,
    decisions: alone.decisions,
    pipelineMs: summary(alone),
    pipelineWithBroadcastMs: summary(withWs),
    endToEndLatencyMs: { decisions: e2e.length, p50: quantile(e2eSorted, 0.5), p99: quantile(e2eSorted, 0.99) },
    calibrationAccuracy: model.file.calibrationAccuracy,
  };
  const line = (what: string, r: ReturnType<typeof summary>): void =>
    console.log(`${what}: per-chunk p50 ${r.p50.toFixed(4)} ms, p99 ${r.p99.toFixed(4)} ms; ${r.throughputXRealTime.toFixed(0)}x real time`);
  console.log(`chunks of ${CHUNK} samples x ${nCh} ch, ${signalSeconds.toFixed(0)} s of signal, ${WINDOW.length} s windows every ${WINDOW.hop} s`);
  line('pipeline (band-pass, windows, CSP, LDA)', result.pipelineMs);
  line('pipeline + WebSocket broadcast to 1 client', result.pipelineWithBroadcastMs);
  console.log(
    `end-to-end latency (source -> decision parsed by a WebSocket client): p50 ${result.endToEndLatencyMs.p50.toFixed(3)} ms, p99 ${result.endToEndLatencyMs.p99.toFixed(3)} ms over ${e2e.length} decisions`,
  );
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
