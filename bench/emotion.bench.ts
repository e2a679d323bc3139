/**
 * Cost of the emotion pipeline on this machine, on neurorx's simulated affective EEG (14 channels
 * at 128 Hz, DREAMER's layout):
 * - feature extraction: ms per feature frame (2-s window, Welch band power, differential entropy
 *   of 5 band-passed signals, frontal asymmetry), streaming one 60-s recording in 16-sample chunks;
 * - decision latency: median ms from a frame to the valence and arousal probabilities of its
 *   8-frame sequence, for each decoder;
 * - training: seconds to train each decoder (valence, 2 levels) on 12 simulated subjects.
 *
 *   npm run build && node dist/bench/emotion.bench.js
 */
import { performance } from 'node:perf_hooks';
import { firstValueFrom, toArray } from 'rxjs';
import { generateAffectiveDataset, generateAffectiveRecording } from '../devices/synthetic/affective.js';
import { replayRecording } from '../devices/file/replay.js';
import { bandFeatures } from '../src/features/band-features.js';
import { initTfjsBackend } from '../src/ml/tfjs/backend.js';
import { emotionSettingsSchema } from '../pipelines/emotion/settings.js';
import { trainEmotionModel } from '../pipelines/emotion/train.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const backend = await initTfjsBackend();
  const rec = generateAffectiveRecording({ seed: 3, subject: 40, leadInSeconds: 0, clipSeconds: 24, baselineSeconds: 6 }, 2);
  const featureRuns: number[] = [];
  let frames = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const out = await firstValueFrom(replayRecording(rec, { speed: 'max', chunkSize: 16, loop: false }).pipe(bandFeatures({ window: 2, hop: 0.5 }), toArray()));
    featureRuns.push(performance.now() - t);
    frames = out.length;
  }
  console.log(`features: ${frames} frames of ${rec.samples / 128} s in ${median(featureRuns).toFixed(1)} ms (median of 5): ${(median(featureRuns) / frames).toFixed(3)} ms per frame`);

  const dataset = generateAffectiveDataset({ subjects: 12, seed: 2 });
  const seq = new Float32Array(8 * (2 * 14 * 5 + 3)).map((_, i) => Math.sin(i * 0.37));
  for (const kind of ['emotion-linear', 'emotion-histn'] as const) {
    const settings = emotionSettingsSchema.parse({ kind: 'emotion', decoder: { kind } });
    const t = performance.now();
    const model = await trainEmotionModel(dataset, settings);
    const trainS = (performance.now() - t) / 1000;
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      for (const target of model.targets) model.decoders[target]!.probabilities(seq);
      times.push(performance.now() - t0);
    }
    console.log(
      `${kind}: trained valence + arousal on 12 subjects in ${trainS.toFixed(1)} s (features included); decision (both targets) ${median(times).toFixed(3)} ms median, ${Math.max(...times.slice(20)).toFixed(3)} ms max (backend ${backend})`,
    );
    model.dispose();
  }
}

void main();
