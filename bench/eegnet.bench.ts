/**
 * EEGNet-8,2 on a real recording: PhysioNet EEGMMIDB subject 1, imagined both fists vs both feet
 * (runs 6, 10, 14), 64 channels at 160 Hz, band-pass 8-32 Hz, epochs 0-3 s after each cue
 * (481 samples). 5-fold interleaved stratified cross-validation: the i-th trial of a class, in
 * time order, is in fold i mod 5. Prints one JSON object: accuracy and training seconds per fold.
 * Usage: node dist/bench/eegnet.bench.js [--epochs 300] [--backend wasm|cpu|tensorflow]
 *        [--folds 5] [--dropout 0.5] [--kern 80] [--validation 0]
 * (NEURORX_DATA points at the folder holding eegmmidb/.)
 */
import { performance } from 'node:perf_hooks';
import { defaultDataDir, eegmmidbEvents, readEegmmidbRun } from '../devices/datasets/eegmmidb.js';
import { epochsFromRecording, resolveChannels } from '../pipelines/motor-imagery/calibrate.js';
import { tfjsBackend, initTfjsBackend, type TfjsBackendName } from '../src/ml/tfjs/backend.js';
import { EegNetDecoder } from '../src/ml/eegnet/eegnet-decoder.js';
import { interleavedStratifiedFolds } from '../src/ml/cross-validation.js';
import type { Epoch } from '../src/dsp/epochs.js';

const SUBJECT = 1;
const RUNS = [6, 10, 14];

function arg(name: string, fallback: number): number;
function arg(name: string, fallback: string): string;
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) return fallback;
  const v = process.argv[i + 1];
  return typeof fallback === 'number' ? Number(v) : v;
}

async function main(): Promise<void> {
  const epochsArg = arg('epochs', 300);
  const folds = arg('folds', 5);
  const backend = arg('backend', '') as TfjsBackendName | '';
  await initTfjsBackend(backend === '' ? undefined : backend);

  const dataDir = defaultDataDir();
  const trials: Epoch[] = [];
  let sampleRate = 0;
  let channelCount = 0;
  for (const run of RUNS) {
    const rec = await readEegmmidbRun(dataDir, SUBJECT, run);
    const channels = resolveChannels(rec.info, undefined);
    sampleRate = rec.info.sampleRate;
    channelCount = channels.length;
    const settings = {
      reference: 'none' as const,
      notch: null,
      bandpass: { low: 8, high: 32, order: 4 },
      filterBank: null,
      events: eegmmidbEvents(run),
      epoch: { tmin: 0, tmax: 3 },
    };
    trials.push(...(await epochsFromRecording(rec, channels, settings)));
  }
  const labels = trials.map((e) => e.label);
  const splits = interleavedStratifiedFolds(labels, folds);
  const opts = {
    epochs: epochsArg,
    sampleRate,
    kernLength: arg('kern', Math.round(sampleRate / 2)),
    dropout: arg('dropout', 0.5),
    validationFraction: arg('validation', 0),
    seed: arg('seed', 42),
  };

  const results = [];
  const t0 = performance.now();
  for (let k = 0; k < folds; k++) {
    const train = splits[k].train.map((i) => trials[i]);
    const test = splits[k].test.map((i) => trials[i]);
    const start = performance.now();
    const net = await EegNetDecoder.fit(
      train,
      train.map((e) => e.label),
      channelCount,
      opts,
    );
    const seconds = (performance.now() - start) / 1000;
    const correct = test.filter((e) => net.predict(e) === e.label).length;
    results.push({ fold: k, train: train.length, test: test.length, accuracy: correct / test.length, trainSeconds: Number(seconds.toFixed(1)), bestEpoch: net.training?.bestEpoch ?? null });
    net.dispose();
  }
  const mean = results.reduce((a, r) => a + r.accuracy, 0) / results.length;
  const correct = results.reduce((a, r) => a + r.accuracy * r.test, 0);
  console.log(
    JSON.stringify(
      {
        bench: 'eegnet',
        subject: SUBJECT,
        runs: RUNS,
        trials: trials.length,
        classes: [...new Set(labels)].sort(),
        samples: trials[0].samples,
        channels: channelCount,
        sampleRate,
        backend: tfjsBackend(),
        options: opts,
        folds: results,
        meanFoldAccuracy: Number(mean.toFixed(4)),
        pooledAccuracy: Number((correct / trials.length).toFixed(4)),
        meanTrainSeconds: Number((results.reduce((a, r) => a + r.trainSeconds, 0) / results.length).toFixed(1)),
        totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
