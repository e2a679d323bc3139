import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { synthesizeMegDataset } from '../../devices/synthetic/meg-images.js';
import { evaluateN170 } from './evaluate-n170.js';
import { evaluateMegRetrieval } from './evaluate.js';
import { megDecoderSpec, MEG_DECODER_KINDS, type MegDecoderSpec } from './meg-decoder.js';

interface MegCliOptions {
  dataset?: string;
  subjects?: number[];
  epochs?: number;
  seed: number;
  megChannels: number;
  rate: number;
  images: number;
  repetitions: number;
  training: string;
  json: boolean;
}

/**
 * `neurorx evaluate --pipeline meg-ridge,meg-brain-module --dataset synthetic-meg|n170`: image
 * retrieval on held-out images (top-1, top-5, chance = top-5 chance), or faces vs houses on the
 * real N170 EEG (accuracy per subject).
 */
export async function evaluateMegCli(names: readonly string[], options: Readonly<Record<string, unknown>>): Promise<void> {
  const o = options as unknown as MegCliOptions;
  const datasetName = o.dataset ?? 'synthetic-meg';
  const pipelines = names.map((kind): MegDecoderSpec => {
    if (!(MEG_DECODER_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`--pipeline: "${kind}" is not a MEG decoder (available: ${MEG_DECODER_KINDS.join(', ')})`);
    }
    return megDecoderSpec.parse(kind === 'meg-brain-module' ? { kind, ...(o.epochs !== undefined ? { epochs: o.epochs } : {}), seed: o.seed } : { kind });
  });
  const log = o.json ? () => {} : (line: string) => console.error(line);
  if (datasetName === 'n170') {
    const result = await evaluateN170({ dataDir: defaultDataDir(), subjects: o.subjects ?? [1, 2, 3], pipelines, log });
    if (!o.json) for (const p of result.pipelines) console.log(`${p.pipeline}: mean accuracy ${p.meanAccuracy.toFixed(3)} (chance ${result.chance.toFixed(3)})`);
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  if (datasetName !== 'synthetic-meg') throw new Error(`--dataset: "${datasetName}" is not a MEG dataset (available: synthetic-meg, n170)`);
  if (o.training !== 'subject' && o.training !== 'pooled') throw new Error(`--training must be subject or pooled, got "${o.training}"`);
  // Default: 6 simulated subjects pooled; the brain module needs that much data (see the README).
  const subjects = o.subjects ? Math.max(...o.subjects) : 6;
  const syn = synthesizeMegDataset({ subjects, channels: o.megChannels, sampleRate: o.rate, images: o.images, testRepetitions: o.repetitions, seed: o.seed });
  const dataset = o.subjects ? { ...syn.dataset, subjects: syn.dataset.subjects.filter((s) => o.subjects!.includes(Number(s.id))) } : syn.dataset;
  const result = await evaluateMegRetrieval({ dataset, gallery: syn.gallery, split: syn.split, ceiling: syn.ceiling, pipelines, training: o.training, log });
  if (!o.json) {
    for (const p of result.pipelines) {
      console.log(`${p.pipeline}: top-1 ${p.top1.toFixed(3)}, top-5 ${p.top5.toFixed(3)} (single epochs ${p.singleTop1.toFixed(3)} / ${p.singleTop5.toFixed(3)}), ${p.parameters} parameters`);
    }
    console.log(`chance: top-1 ${result.chanceTop1.toFixed(3)}, top-5 ${result.chance.toFixed(3)} among ${result.testImages} held-out images (${result.protocol})`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
