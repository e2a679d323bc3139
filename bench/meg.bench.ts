/**
 * Live MEG image decoding at full rate: a simulated 306-channel MEG stream at 1 kHz (one image
 * every ~1 s), in chunks of 20 samples, through image-onset epoching (-0.2..0.8 s), epoch features
 * (baseline, 40 bins of 20 ms, per-channel scaling) and each decoder, to the top-5 of a 240-image
 * gallery. Reports per-window decode latency (from the chunk that completes an epoch reaching the
 * pipeline to the top-5 being ready) p50/p99/max over 120 windows, and the stream's throughput.
 * The decoders are trained first on a small synthetic study (one subject, 192 images).
 *
 *   npm run build && node dist/bench/meg.bench.js
 */
import { performance } from 'node:perf_hooks';
import { from, lastValueFrom, map, tap } from 'rxjs';
import { MegImageSimulator } from '../devices/synthetic/meg-stream.js';
import { synthesizeMegDataset } from '../devices/synthetic/meg-images.js';
import { markerEpochs } from '../src/dsp/epochs.js';
import { initTfjsBackend } from '../src/ml/tfjs/backend.js';
import { EpochFeatures } from '../src/retrieval/epoch-features.js';
import { topK } from '../src/retrieval/top-k.js';
import type { Chunk } from '../src/stream/types.js';
import { fitMegDecoder, megDecoderSpec, type MegDecoderSpec } from '../pipelines/meg/meg-decoder.js';

const WINDOWS = 120;
const CHUNK = 20;

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main(): Promise<void> {
  const backend = await initTfjsBackend();
  const syn = synthesizeMegDataset({ subjects: 1, testRepetitions: 1, ceiling: false });
  const C = syn.dataset.channels.length;
  const rate = syn.dataset.sampleRate;
  const trainSet = new Set(syn.split.train);
  const train = syn.dataset.subjects[0].epochs.filter((e) => trainSet.has(e.imageId));
  const features = EpochFeatures.fit(train, C, rate);
  const X = features.transformAll(train);
  const D = syn.gallery.dim;
  const Y = new Float32Array(train.length * D);
  train.forEach((e, i) => Y.set(syn.gallery.embeddingOf(e.imageId), i * D));
  const specs: MegDecoderSpec[] = [megDecoderSpec.parse({ kind: 'meg-ridge' }), megDecoderSpec.parse({ kind: 'meg-brain-module', epochs: 3 })];
  for (const spec of specs) {
    const decoder = await fitMegDecoder(spec, { X, n: train.length, T: features.bins, C, Y, D, groups: train.map((e) => e.imageId), positions: syn.dataset.positions });
    const sim = new MegImageSimulator({ world: syn.world, subject: 1, session: 7 });
    const seconds = WINDOWS + 2;
    const chunks: Chunk[] = [];
    for (let first = 0; first < seconds * rate; first += CHUNK) {
      const { data, markers } = sim.next(CHUNK);
      chunks.push({ info: sim.info, data, samples: CHUNK, firstSample: first, time: first / rate, markers, receivedAt: 0 });
    }
    const latencies: number[] = [];
    const onset = Math.round(0.2 * rate);
    const query = new Float32Array(features.size);
    const t0 = performance.now();
    await lastValueFrom(
      from(chunks).pipe(
        map((c) => {
          lastReceived = performance.now();
          return { ...c, receivedAt: lastReceived };
        }),
        markerEpochs({ events: (v) => /^image (.+)$/.exec(v)?.[1], tmin: -0.2, tmax: 0.8 }),
        tap((epoch) => {
          features.transform({ data: epoch.data, samples: epoch.samples, onset }, query);
          const emb = decoder.embed(query, 1);
          topK(emb, syn.gallery, 5);
          // from the chunk that completed the epoch entering the pipeline
          latencies.push(performance.now() - lastReceived);
        }),
      ),
      { defaultValue: undefined },
    );
    const wall = (performance.now() - t0) / 1000;
    console.log(
      `${spec.kind} (${backend}): ${latencies.length} windows of ${C} ch x ${rate} Hz; decode latency p50 ${percentile(latencies, 0.5).toFixed(2)} ms, ` +
        `p99 ${percentile(latencies, 0.99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms; stream ran ${(seconds / wall).toFixed(1)}x real time`,
    );
    decoder.dispose();
  }
}

let lastReceived = 0;
void main();
