/**
 * LSL on loopback: a neurorx outlet and a neurorx inlet in one process.
 *  1. push-to-receive latency: 64 float32 channels at 1 kHz pushed in chunks of 10 samples, paced in
 *     real time for 10 s; latency = receipt (LSL clock) - the push time of the chunk's last sample;
 *  2. sustained throughput: 64 x float32 samples pushed as fast as the inlet keeps up, for 5 s.
 * Usage: npm run bench:lsl
 */
import { LslInlet, resolveOne } from '../devices/lsl/inlet.js';
import { localClock } from '../devices/lsl/lsl-clock.js';
import { DEFAULT_LSL_CONFIG } from '../devices/lsl/lsl-config.js';
import { LslOutlet } from '../devices/lsl/outlet.js';
import { propQuery } from '../devices/lsl/resolver.js';

const config = { ...DEFAULT_LSL_CONFIG, scope: 'machine' as const, multicastPort: 28571, basePort: 28572 };
const CH = 64;

async function main(): Promise<void> {
  const outlet = await LslOutlet.open({ name: 'bench', type: 'EEG', channelCount: CH, channelFormat: 'float32', nominalSrate: 1000, config });
  const info = await resolveOne(propQuery('name', 'bench'), 5, config);
  const latencies: number[] = [];
  let received = 0;
  let connected = false;
  const inlet = new LslInlet(
    info,
    (e) => {
      if (e.kind === 'connected') connected = true;
      if (e.kind !== 'samples') return;
      received += e.batch.count;
      latencies.push(localClock() - e.batch.timestamps[e.batch.count - 1]);
    },
    { config },
  );
  void inlet.run();
  while (!connected || outlet.consumers === 0) await new Promise((r) => setTimeout(r, 10));

  // 1. latency, paced
  const block = new Float32Array(10 * CH);
  const stamps = new Float64Array(10);
  const t0 = localClock();
  for (let sent = 0; sent < 10_000; sent += 10) {
    const due = t0 + (sent + 10) / 1000;
    const wait = (due - localClock()) * 1000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const now = localClock();
    for (let i = 0; i < 10; i++) stamps[i] = now - (9 - i) / 1000;
    outlet.push(block, stamps);
  }
  await new Promise((r) => setTimeout(r, 200));
  const paced = latencies.splice(0).sort((a, b) => a - b);
  const q = (p: number): number => paced[Math.min(paced.length - 1, Math.floor(p * paced.length))] * 1000;

  // 2. throughput: keep at most ~20k samples in flight
  const big = new Float32Array(100 * CH);
  const bigStamps = new Float64Array(100);
  const start = received;
  let pushed = 0;
  const tp0 = localClock();
  while (localClock() - tp0 < 5) {
    if (pushed - (received - start) < 20_000) {
      bigStamps.fill(localClock());
      outlet.push(big, bigStamps);
      pushed += 100;
    } else await new Promise((r) => setImmediate(r));
  }
  while (received - start < pushed) await new Promise((r) => setTimeout(r, 5));
  const rate = (received - start) / (localClock() - tp0);
  const result = {
    latencyMs: { chunks: paced.length, p50: q(0.5), p99: q(0.99) },
    throughput: { samplesPerSecond: rate, channels: CH, megabytesPerSecond: (rate * (CH * 4 + 9)) / 1e6 },
    dropped: outlet.dropped,
  };
  console.log(`LSL loopback push-to-receive latency (64 ch, 1 kHz, chunks of 10): p50 ${result.latencyMs.p50.toFixed(3)} ms, p99 ${result.latencyMs.p99.toFixed(3)} ms`);
  console.log(`LSL loopback sustained: ${(rate / 1000).toFixed(0)}k samples/s of 64 x float32 (${result.throughput.megabytesPerSecond.toFixed(0)} MB/s)`);
  console.log(JSON.stringify(result));
  inlet.close();
  await outlet.close();
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
