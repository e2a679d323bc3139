/**
 * Calibration and inference cost of every motor-imagery decoder on real data: EEGMMIDB subject 1,
 * hands vs feet (runs 6, 10, 14: 45 trials, 64 channels, 160 Hz), for two epoch lengths. Fit time
 * is the median of 7 fits on all 45 trials after 2 warm-up fits; inference is the median time of
 * one probability vector for one epoch-sized block.
 *
 *   npm run build && node dist/bench/decoders.bench.js [--eegnet]
 */
import { performance } from 'node:perf_hooks';
import { defaultDataDir, eegmmidbEvents, readEegmmidbRun } from '../devices/datasets/eegmmidb.js';
import { epochsFromRecording, resolveChannels } from '../pipelines/motor-imagery/calibrate.js';
import { preprocessingFor } from '../pipelines/motor-imagery/preprocess.js';
import type { Epoch } from '../src/dsp/epochs.js';
import { DECODER_KINDS } from '../src/ml/decoders/decoder.js';
import { decoderSpec, type DecoderSpec } from '../src/ml/decoders/decoder-spec.js';
import { fitDecoder } from '../src/ml/decoders/registry.js';

const FITS = 7;
const WARMUP = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function epochs(spec: DecoderSpec, tmin: number, tmax: number): Promise<Epoch[]> {
  const out: Epoch[] = [];
  for (const run of [6, 10, 14]) {
    const rec = await readEegmmidbRun(defaultDataDir(), 1, run);
    const pre = preprocessingFor(spec, { reference: 'none', notch: null, bandpass: { low: 8, high: 32, order: 4 } });
    out.push(...(await epochsFromRecording(rec, resolveChannels(rec.info, undefined), { ...pre, events: eegmmidbEvents(run), epoch: { tmin, tmax } })));
  }
  return out;
}

async function main(): Promise<void> {
  const withEegnet = process.argv.includes('--eegnet');
  const specs = DECODER_KINDS.filter((k) => k !== 'eegnet' || withEegnet).flatMap((kind) =>
    kind === 'tangent-space-lr' ? [decoderSpec({ kind, reference: 'euclid' }), decoderSpec({ kind, reference: 'riemann' })] : [decoderSpec(kind)],
  );
  const rows: Record<string, unknown>[] = [];
  for (const [tmin, tmax] of [
    [1, 2],
    [0, 3],
  ]) {
    for (const spec of specs) {
      const data = await epochs(spec, tmin, tmax);
      const labels = data.map((e) => e.label);
      const width = data[0].info.channels.length;
      const fits = spec.kind === 'eegnet' ? 1 : FITS;
      const warm = spec.kind === 'eegnet' ? 0 : WARMUP;
      const times: number[] = [];
      let decoder = await fitDecoder(spec, data, labels, width);
      for (let i = 0; i < warm + fits; i++) {
        const t = performance.now();
        decoder = await fitDecoder(spec, data, labels, width);
        if (i >= warm) times.push(performance.now() - t);
      }
      const infer: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        decoder.probabilities(data[i % data.length]);
        infer.push(performance.now() - t);
      }
      const label = spec.kind === 'tangent-space-lr' ? `${spec.kind} (${spec.reference} mean)` : spec.kind;
      const row = { decoder: label, epoch: `${tmin}-${tmax} s`, trials: data.length, channels: width, fitMs: median(times), inferenceMs: median(infer.slice(10)) };
      rows.push(row);
      console.log(`${label.padEnd(32)} epochs ${row.epoch}: fit ${row.fitMs.toFixed(1)} ms on ${row.trials} trials x ${width} ch; one block ${row.inferenceMs.toFixed(3)} ms`);
      decoder.dispose?.();
    }
  }
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
