/**
 * The evoked paradigms' decision time, per flash (ERP) and per window (SSVEP), measured on the real
 * pipelines fed as fast as possible (each chunk's processing is all that is timed):
 *   ERP: ms from the chunk that completes a flash's epoch reaching the pipeline to its score
 *        (`erp-score` latencyMs), xDAWN + LDA, 256 Hz, 4 and 32 channels, 4 flashes a second;
 *   SSVEP: ms from the chunk that completes a window to its decision, 2 s windows every 0.25 s,
 *        256 Hz, 4 channels, for cca, fbcca (3 sub-bands) and trca (trained on another run).
 * Target (issue 18): under 5 ms p99. The last stdout line is the figures as JSON.
 *   npm run bench          (all benches)     node dist/bench/evoked.bench.js   (this one, after tsc)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { writeEdf } from '../devices/file/edf-writer.js';
import { replayRecording } from '../devices/file/replay.js';
import type { Source } from '../devices/open-source.js';
import { generateSsvep } from '../devices/synthetic/ssvep.js';
import { erpModelFor } from '../pipelines/erp/model.js';
import { erpPipeline } from '../pipelines/erp/pipeline.js';
import { erpSettingsSchema } from '../pipelines/erp/settings.js';
import { ssvepPipeline } from '../pipelines/ssvep/pipeline.js';
import { ssvepSettingsSchema } from '../pipelines/ssvep/settings.js';
import type { Recording } from '../src/stream/recording.js';
import type { Marker } from '../src/stream/types.js';
import { Random } from '../src/util/random.js';

const RATE = 256;
const CHUNK = 16;

function p99(values: number[]): { n: number; p50: number; p99: number } {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: +q(0.5).toFixed(3), p99: +q(0.99).toFixed(3) };
}

/** An oddball run: a flash every 0.25 s, one in six a target with a P300-like bump (about 5 µV at 300 ms) over noise. */
function oddball(channels: number, seconds: number, seed: number): Recording {
  const rng = new Random(seed);
  const n = seconds * RATE;
  const data = new Float32Array(n * channels);
  for (let i = 0; i < data.length; i++) data[i] = 10 * rng.normal();
  const markers: Marker[] = [];
  for (let t = 1; t < seconds - 1; t += 0.25) {
    const target = rng.uniform() < 1 / 6;
    markers.push({ time: t, value: target ? '2' : '1', duration: 0 });
    if (!target) continue;
    const at = Math.round(t * RATE);
    for (let s = 0; s < 0.6 * RATE; s++) {
      const bump = 5 * Math.exp(-(((s / RATE - 0.3) / 0.08) ** 2));
      for (let c = 0; c < channels; c++) data[(at + s) * channels + c] += bump * (0.5 + c / (2 * channels));
    }
  }
  const labels = Array.from({ length: channels }, (_, c) => `E${c + 1}`);
  return { info: { name: 'oddball', type: 'EEG', sourceId: 'bench-oddball', sampleRate: RATE, channels: labels.map((label) => ({ label, type: 'eeg', unit: 'uV' })) }, data, samples: n, markers };
}

const asSource = (rec: Recording): Source => ({ uri: 'bench', info: rec.info, finite: true, chunks$: replayRecording(rec, { speed: 'max', chunkSize: CHUNK }), losses: [] }) as unknown as Source;

async function erp(channels: number, dir: string): Promise<ReturnType<typeof p99>> {
  const calibration = path.join(dir, `erp-${channels}.edf`);
  await writeEdf(calibration, oddball(channels, 240, 1));
  const settings = erpSettingsSchema.parse({ kind: 'erp', preprocessing: { reject: null }, calibration: { from: 'recording', source: `file:${calibration}` } });
  const model = erpModelFor(settings);
  const events = await lastValueFrom(erpPipeline(asSource(oddball(channels, 300, 2)), settings, model).pipe(toArray()));
  return p99(events.flatMap((e) => (e.kind === 'score' ? [e.score.latencyMs] : [])));
}

async function ssvep(decoder: 'cca' | 'fbcca' | 'trca', dir: string): Promise<ReturnType<typeof p99>> {
  const calibration = path.join(dir, 'ssvep-calibration.edf');
  await writeEdf(calibration, generateSsvep({ seed: 1, trialsPerTarget: 6 }), { overwrite: true });
  const settings = ssvepSettingsSchema.parse({
    kind: 'ssvep',
    targets: [
      { label: '30Hz', frequency: 30, marker: '1' },
      { label: '20Hz', frequency: 20, marker: '2' },
    ],
    bandpass: { low: 15, high: 90 },
    window: { length: 2, hop: 0.25, align: 'sliding' },
    decoder: decoder === 'trca' ? { kind: 'trca', calibration: { from: 'recording', source: `file:${calibration}` } } : decoder === 'fbcca' ? { kind: 'fbcca', subBands: 3 } : { kind: 'cca' },
  });
  const events = await lastValueFrom(ssvepPipeline(asSource(generateSsvep({ seed: 2, trialsPerTarget: 20 })), settings).pipe(toArray()));
  return p99(events.flatMap((e) => (e.kind === 'decision' ? [e.decision.latencyMs] : [])));
}

const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-evoked-bench-'));
try {
  const result = {
    bench: 'evoked',
    targetP99Ms: 5,
    erpScoreMs: { '4ch': await erp(4, dir), '32ch': await erp(32, dir) },
    ssvepDecisionMs: { cca: await ssvep('cca', dir), fbcca: await ssvep('fbcca', dir), trca: await ssvep('trca', dir) },
  };
  for (const [k, v] of Object.entries(result.erpScoreMs)) console.log(`ERP score per flash, xDAWN + LDA, ${k} @ ${RATE} Hz: ${v.n} flashes, p50 ${v.p50} ms, p99 ${v.p99} ms`);
  for (const [k, v] of Object.entries(result.ssvepDecisionMs)) console.log(`SSVEP decision per window, ${k}, 4 ch @ ${RATE} Hz, 2 s windows: ${v.n} windows, p50 ${v.p50} ms, p99 ${v.p99} ms`);
  const all = [...Object.values(result.erpScoreMs), ...Object.values(result.ssvepDecisionMs)];
  console.log(JSON.stringify({ ...result, withinTarget: all.every((v) => v.p99 < result.targetP99Ms) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
