import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { beforeAll, afterEach, describe, expect, it } from 'vitest';
import { AffectiveSimulator, generateAffectiveDataset, AFFECTIVE_CHANNELS } from '../devices/synthetic/affective.js';
import type { EmotionDataset } from '../devices/datasets/emotion/emotion-dataset.js';
import { loadRecording } from '../devices/open-source.js';
import { replayRecording } from '../devices/file/replay.js';
import { computeBandFeatures } from '../src/features/band-features.js';
import { groupFolds, macroF1 } from '../src/ml/cross-validation.js';
import { parseConfig } from '../src/config/config-schema.js';
import { serverMessage } from '../src/server/messages.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { evaluateEmotion } from '../pipelines/emotion/evaluate.js';
import { emotionDecoderSpec } from '../pipelines/emotion/emotion-decoder-spec.js';
import { EmotionModel } from '../pipelines/emotion/model.js';
import { decodeEmotion, type EmotionDecision } from '../pipelines/emotion/pipeline.js';
import { emotionSettingsSchema, featureSettingsSchema, type EmotionSettings } from '../pipelines/emotion/settings.js';
import { targetClasses } from '../pipelines/emotion/targets.js';
import { trainEmotionModel } from '../pipelines/emotion/train.js';
import { connect, until } from './helpers/ws-client.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { like } from './helpers/like.js';

/** A small simulated study: 6 subjects, 10 clips of 20 s each. */
let dataset: EmotionDataset;
let linear: EmotionModel;
const settings = (decoder: object, extra: object = {}): EmotionSettings => emotionSettingsSchema.parse({ kind: 'emotion', decoder, normalization: { baselineSeconds: 10 }, ...extra });

beforeAll(async () => {
  dataset = generateAffectiveDataset({ subjects: 6, clips: 10, clipSeconds: 20, seed: 5 });
  linear = await trainEmotionModel(dataset, settings({ kind: 'emotion-linear' }));
}, 120_000);

describe('synthetic affective EEG', () => {
  it('is the same whether asked for 1 sample at a time or 3000 at once, and marks baselines and clips', () => {
    const a = new AffectiveSimulator({ seed: 9, subject: 2, baselineSeconds: 2, clipSeconds: 5 });
    const b = new AffectiveSimulator({ seed: 9, subject: 2, baselineSeconds: 2, clipSeconds: 5 });
    const whole = a.next(3000);
    const parts = new Float32Array(3000 * AFFECTIVE_CHANNELS.length);
    const markers = [];
    for (let s = 0; s < 3000; s++) {
      const one = b.next(1);
      parts.set(one.data, s * AFFECTIVE_CHANNELS.length);
      markers.push(...one.markers);
    }
    expect(parts).toEqual(whole.data);
    expect(markers).toEqual(whole.markers);
    // 3000 samples at 128 Hz = 23.4 s: baselines at 0, 7, 14, 21 s and clips at 2, 9, 16, 23 s
    expect(whole.markers.map((m) => [m.time, m.value.split(' ')[0]])).toEqual([
      [0, 'baseline'],
      [2, 'clip'],
      [7, 'baseline'],
      [9, 'clip'],
      [14, 'baseline'],
      [16, 'clip'],
      [21, 'baseline'],
      [23, 'clip'],
    ]);
    expect(whole.markers[1].value).toMatch(/^clip valence=[1-5] arousal=[1-5]$/);
  });

  it('rates every level 1-5 equally often, and valence shows as frontal alpha asymmetry', () => {
    const subject = dataset.subjects[0];
    for (const key of ['valence', 'arousal'] as const) {
      const counts = [1, 2, 3, 4, 5].map((r) => subject.trials.filter((t) => t.ratings[key] === r).length);
      expect(counts).toEqual([2, 2, 2, 2, 2]);
    }
    // ln(alpha right) - ln(alpha left) over F3/F4, F7/F8, AF3/AF4, averaged per clip, rises with valence
    const info = { name: 'x', type: 'EEG', sourceId: 'x', channels: dataset.channels, sampleRate: dataset.sampleRate };
    const x: number[] = [];
    const y: number[] = [];
    for (const s of dataset.subjects) {
      for (const t of s.trials) {
        const frames = computeBandFeatures(info, t.data);
        let faa = 0;
        for (const f of frames) faa += f.asymmetry.reduce((a, b) => a + b, 0) / f.asymmetry.length;
        x.push(faa / frames.length);
        y.push(t.ratings.valence!);
      }
    }
    expect(correlation(x, y)).toBeGreaterThan(0.4);
  });
});

describe('emotion targets and metrics', () => {
  it('binarises above the middle of the scale, keeps 5 levels, and maps SEED categories', () => {
    const trial = (valence: number) => ({ id: 't', data: new Float32Array(0), samples: 0, ratings: { valence } });
    const dreamer = targetClasses({ name: 'dreamer', ratingScale: { min: 1, max: 5 } }, 'valence', 2);
    expect([1, 2, 3, 4, 5].map((r) => dreamer.classOf(trial(r)))).toEqual(['low', 'low', 'low', 'high', 'high']);
    const deap = targetClasses({ name: 'deap', ratingScale: { min: 1, max: 9 } }, 'valence', 5);
    expect([1, 3, 5, 7, 9, 6.1].map((r) => deap.classOf(trial(r)))).toEqual(['1', '2', '3', '4', '5', '4']);
    const seed = targetClasses({ name: 'seed' }, 'valence', 2);
    expect(seed.classes).toEqual(['negative', 'neutral', 'positive']);
    expect(() => targetClasses({ name: 'seed' }, 'arousal', 2)).toThrow(/only --target valence/);
  });

  it('macro F1 and subject folds follow their definitions', () => {
    // class a: tp 2 fp 1 fn 0 -> 0.8; class b: tp 1 fp 0 fn 1 -> 2/3
    expect(macroF1(['a', 'a', 'b', 'b'], ['a', 'a', 'a', 'b'], ['a', 'b'])).toBeCloseTo((0.8 + 2 / 3) / 2, 12);
    const folds = groupFolds(['1', '1', '2', '3', '4', '5'], 2, 7);
    expect(folds).toHaveLength(2);
    expect(new Set(folds.flatMap((f) => f.test))).toEqual(new Set(['1', '2', '3', '4', '5']));
    for (const f of folds) expect(f.train.filter((s) => f.test.includes(s))).toEqual([]);
    expect(groupFolds(['1', '2', '3'], 10, 1)).toHaveLength(3); // leave-one-subject-out
  });
});

describe('cross-subject evaluation on held-out subjects', () => {
  it('both decoders decode valence of unseen subjects well above chance', async () => {
    const result = await evaluateEmotion({
      dataset,
      pipelines: [emotionDecoderSpec.parse({ kind: 'emotion-linear' }), emotionDecoderSpec.parse({ kind: 'emotion-histn', epochs: 15 })],
      target: 'valence',
      levels: 2,
      folds: 3,
      features: featureSettingsSchema.parse({}),
      sequenceLength: 8,
      trainStride: 2,
      seed: 1,
    });
    expect(result.pipelines.map((p) => p.pipeline)).toEqual(['emotion-linear', 'emotion-histn']);
    expect(result.uniformChance).toBe(0.5);
    for (const p of result.pipelines) {
      expect(p.subjects.map((s) => s.subject).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(p.meanAccuracy).toBeGreaterThan(result.chance + 0.1);
      expect(p.macroF1).toBeGreaterThan(0.6);
    }
    expect(result.pipelines[1].parameters).toBeGreaterThan(500);
    expect(result.pipelines[1].parameters).toBeLessThan(2000);
  }, 180_000);
});

describe('cross-person folds', () => {
  it("holds out every session of a person together (SEED's sessions are one person)", async () => {
    const sessions = { ...dataset, subjects: dataset.subjects.map((s, i) => ({ ...s, id: `${Math.floor(i / 2) + 1}-2013102${i % 2}` })) };
    const result = await evaluateEmotion({
      dataset: sessions,
      pipelines: [emotionDecoderSpec.parse({ kind: 'emotion-linear' }), emotionDecoderSpec.parse({ kind: 'emotion-linear', classifier: 'logistic' })],
      target: 'arousal',
      levels: 2,
      folds: 3,
      features: featureSettingsSchema.parse({}),
      sequenceLength: 8,
      trainStride: 4,
      seed: 3,
    });
    expect(result.folds).toHaveLength(3);
    for (const held of result.folds) {
      expect(held).toHaveLength(2);
      expect(held[0].split('-')[0]).toBe(held[1].split('-')[0]);
    }
    // the same kind twice (other options) gives two results, each subject scored once
    expect(result.pipelines.map((p) => p.subjects.length)).toEqual([6, 6]);
  }, 60_000);
});

describe('emotion models', () => {
  it('save and load give the same probabilities; a damaged file names the field', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nx-emotion-'));
    const file = path.join(dir, 'model.json');
    await linear.save(file);
    const loaded = await EmotionModel.load(file);
    const seq = new Float32Array(8 * (2 * 14 * 5 + 3)).map((_, i) => Math.sin(i));
    for (const t of ['valence', 'arousal'] as const) expect(loaded.decoders[t]!.probabilities(seq)).toEqual(linear.decoders[t]!.probabilities(seq));
    // The parts of the saved file the damage below touches; as JSON, anything may be put there.
    interface SavedModel {
      layout: { bands: unknown; channels: unknown[] };
      decoders: Record<'valence' | 'arousal', { model: { lda: { coef: unknown[][]; intercept: unknown[] } } }>;
    }
    const json = JSON.parse(readFileSync(file, 'utf8')) as SavedModel;
    const damaged = async (edit: (j: SavedModel) => void): Promise<void> => {
      const copy = structuredClone(json);
      edit(copy);
      writeFileSync(file, JSON.stringify(copy));
      await EmotionModel.load(file);
    };
    await expect(damaged((j) => (j.layout.bands = 'alpha'))).rejects.toThrow(/layout\.bands/);
    await expect(damaged((j) => j.decoders.valence.model.lda.coef[0].pop())).rejects.toThrow(/decoders\.valence: model\.lda\.coef\.0: 142 coefficients, expected 143/);
    await expect(damaged((j) => (j.decoders.arousal.model.lda.intercept[1] = 'x'))).rejects.toThrow(/decoders\.arousal: .*model/);
    await expect(damaged((j) => (j.layout.channels = j.layout.channels.slice(1)))).rejects.toThrow(/frameLength is 143, the layout gives 133/);
  });

  it('a HiSTN model round-trips through its saved state', async () => {
    const small = { ...dataset, subjects: dataset.subjects.slice(0, 3) };
    const model = await trainEmotionModel(small, settings({ kind: 'emotion-histn', epochs: 3 }));
    const restored = await EmotionModel.parse(JSON.parse(JSON.stringify(model.toJSON())), 'histn');
    const seq = new Float32Array(8 * (2 * 14 * 5 + 3)).map((_, i) => Math.cos(i));
    expect(restored.decoders.valence!.probabilities(seq)).toEqual(model.decoders.valence!.probabilities(seq));
    // ... and in a new process, which has no tfjs backend selected yet (the built CLI's modules)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nx-emotion-'));
    const file = path.join(dir, 'histn.json');
    await model.save(file);
    const modelJs = path.join(PROJECT_ROOT, 'dist', 'pipelines', 'emotion', 'model.js');
    const script = `const { EmotionModel } = await import(${JSON.stringify(pathToFileURL(modelJs).href)});
      const m = await EmotionModel.load(${JSON.stringify(file)});
      const seq = new Float32Array(${seq.length}).map((_, i) => Math.cos(i));
      console.log(JSON.stringify(Array.from(m.decoders.valence.probabilities(seq))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual(Array.from(model.decoders.valence!.probabilities(seq)));
    model.dispose();
    restored.dispose();
  }, 60_000);
});

describe('live emotion decoding', () => {
  const decide = async (chunkSize: number): Promise<EmotionDecision[]> => {
    const rec = await loadRecording('synthetic:emotion?seed=4&subject=50&clips=2&clip=20&baseline=6&leadIn=10');
    return firstValueFrom(replayRecording(rec, { speed: 'max', chunkSize, loop: false }).pipe(decodeEmotion(linear, settings({ kind: 'emotion-linear' })), toArray()));
  };

  it('decides every hop after the baseline, the same whatever the chunking', async () => {
    const a = await decide(1);
    const b = await decide(64);
    // 10 + 20 + 6 + 20 = 56 s; 2-s windows every 0.5 s: 109 frames; the 17 wholly within the
    // first 10 s are the baseline (not emitted); the first decision needs 8 frames.
    expect(a.length).toBe(109 - 17 - 7);
    expect(b.map(({ latencyMs: _l, ...d }) => d)).toEqual(a.map(({ latencyMs: _l, ...d }) => d));
    for (const d of a) {
      expect(['low', 'high']).toContain(d.valence!.label);
      expect(d.valence!.score).toBeGreaterThanOrEqual(-1);
      expect(d.valence!.score).toBeLessThanOrEqual(1);
      expect(d.valence!.probabilities.low + d.valence!.probabilities.high).toBeCloseTo(1, 9);
    }
    expect(a[1].timestamp - a[0].timestamp).toBeCloseTo(0.5, 9);
  }, 60_000);

  let session: Session | undefined;
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  it('streams emotion messages over a real WebSocket from a live synthetic source', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nx-emotion-'));
    const file = path.join(dir, 'model.json');
    await linear.save(file);
    const config = parseConfig({
      source: { uri: 'synthetic:emotion?seed=3&subject=77&leadIn=10', replay: { speed: 20, chunkSize: 16 } },
      pipeline: { kind: 'emotion', calibration: { from: 'model', path: file }, normalization: { baselineSeconds: 10 } },
      server: { port: 0 },
    });
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.filter((m) => m.type === 'emotion').length >= 10, 20_000);
    ws.close();
    expect(messages[0]).toMatchObject({ type: 'hello', pipeline: { kind: 'emotion' } });
    const emotions = messages.filter((m) => m.type === 'emotion');
    for (const m of emotions) {
      expect(serverMessage.safeParse(m).success).toBe(true);
      expect(m).toMatchObject({ valence: { label: like.stringMatching(/^(low|high)$/) }, arousal: { label: like.stringMatching(/^(low|high)$/) } });
    }
    expect(emotions.map((m) => m.seq)).toEqual(emotions.map((_, i) => i));
  }, 30_000);
});

function correlation(x: number[], y: number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
