import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { emotionDecoderSpec, EMOTION_DECODER_KINDS, type EmotionDecoderSpec } from './emotion-decoder-spec.js';
import { evaluateEmotion } from './evaluate.js';
import { EMOTION_DATASETS, loadEmotionDataset } from './load-dataset.js';
import { featureSettingsSchema } from './settings.js';
import { EMOTION_TARGETS, type EmotionTarget } from './targets.js';

interface EmotionCliOptions {
  dataset?: string;
  /** Subjects to keep (synthetic: which simulated people), or undefined for all. */
  subjects?: number[];
  target: string;
  levels: number;
  folds?: number;
  seed: number;
  sequence: number;
  epochs?: number;
  data?: string;
  json: boolean;
}

/** `neurorx evaluate --pipeline emotion-linear,emotion-histn ...`: prints per-subject lines, then the JSON result. */
export async function evaluateEmotionCli(names: readonly string[], options: Readonly<Record<string, unknown>>): Promise<void> {
  const o = options as unknown as EmotionCliOptions;
  const datasetName = o.dataset ?? 'synthetic-emotion';
  const pipelines = names.map((kind): EmotionDecoderSpec => {
    if (!(EMOTION_DECODER_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`--pipeline: "${kind}" is not an emotion decoder (available: ${EMOTION_DECODER_KINDS.join(', ')}); motor-imagery and emotion decoders cannot be mixed`);
    }
    return emotionDecoderSpec.parse(kind === 'emotion-histn' && o.epochs !== undefined ? { kind, epochs: o.epochs } : { kind });
  });
  if (!(EMOTION_TARGETS as readonly string[]).includes(o.target)) throw new Error(`--target: "${o.target}" (available: ${EMOTION_TARGETS.join(', ')})`);
  if (o.levels !== 2 && o.levels !== 5) throw new Error(`--levels must be 2 (low/high) or 5 (ratings 1-5), got ${o.levels}`);
  if (!(EMOTION_DATASETS as readonly string[]).includes(datasetName)) throw new Error(`--dataset: unknown emotion dataset "${datasetName}" (available: ${EMOTION_DATASETS.join(', ')})`);
  const log = o.json ? () => {} : (line: string) => console.error(line);
  const dataset = await loadEmotionDataset(datasetName, { dataDir: defaultDataDir(), path: o.data, subjects: o.subjects, seed: o.seed });
  const result = await evaluateEmotion({
    dataset,
    pipelines,
    target: o.target as EmotionTarget,
    levels: o.levels,
    folds: o.folds ?? 4,
    features: featureSettingsSchema.parse({}),
    sequenceLength: o.sequence,
    trainStride: 2,
    seed: o.seed,
    log,
  });
  if (!o.json) {
    for (const p of result.pipelines) {
      for (const s of p.subjects) console.log(`${p.pipeline} subject ${s.subject}: accuracy ${s.accuracy.toFixed(3)} macro-F1 ${s.macroF1.toFixed(3)} (${s.sequences} decisions)`);
      console.log(
        `${p.pipeline}: mean accuracy ${p.meanAccuracy.toFixed(3)}, macro-F1 ${p.macroF1.toFixed(3)}${p.parameters ? `, ${p.parameters} parameters` : ''}, fit ${(p.meanFitMs / 1000).toFixed(1)} s per fold`,
      );
    }
    console.log(`chance (majority class of the training subjects) ${result.chance.toFixed(3)}; (${result.protocol})`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
