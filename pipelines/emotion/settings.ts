import { z } from 'zod';
import { smoothingSchema } from '../../src/control/control-settings.js';
import { emotionDecoderSpec } from './emotion-decoder-spec.js';

export const featureSettingsSchema = z
  .object({
    window: z.number().positive().max(60).default(2).describe('feature window, seconds'),
    hop: z.number().positive().max(60).default(0.5).describe('seconds between feature frames (and decisions)'),
    welchSegment: z.number().positive().max(60).default(1).describe('Welch segment length, seconds (50% overlap, Hann)'),
    filterOrder: z.number().int().min(1).max(8).default(4).describe('Butterworth order of the band filters for differential entropy'),
  })
  .strict();

export const emotionCalibrationSchema = z.discriminatedUnion('from', [
  z
    .object({
      from: z.literal('dataset'),
      dataset: z.string().min(1).default('synthetic-emotion').describe('synthetic-emotion, dreamer, deap or seed'),
      path: z.string().optional().describe('where the dataset lies (default: under $NEURORX_DATA)'),
      subjects: z.number().int().min(2).max(1000).default(12).describe('synthetic-emotion: how many simulated subjects to train on'),
    })
    .strict(),
  z.object({ from: z.literal('model'), path: z.string().min(1).describe('a model saved by an earlier training') }).strict(),
]);

export const emotionSettingsSchema = z
  .object({
    kind: z.literal('emotion'),
    features: featureSettingsSchema.prefault({}),
    sequenceLength: z.number().int().min(1).max(64).default(8).describe('feature frames per decision'),
    levels: z
      .union([z.literal(2), z.literal(5)])
      .default(2)
      .describe('2: low/high; 5: rating levels 1-5'),
    normalization: z
      .object({
        baselineSeconds: z.number().positive().max(3600).default(20).describe('resting signal at the start of a session whose feature statistics z-score the rest'),
        mode: z.enum(['baseline', 'running']).default('baseline').describe('"running": keep adapting the statistics after the baseline'),
        halfLifeSeconds: z.number().positive().max(86_400).default(300).describe('running mode: half-life of the statistics, seconds'),
      })
      .strict()
      .prefault({}),
    decoder: emotionDecoderSpec.default({ kind: 'emotion-linear', classifier: 'lda', shrinkage: 'auto', c: 0.1 }),
    calibration: emotionCalibrationSchema.default({ from: 'dataset', dataset: 'synthetic-emotion', subjects: 12 }),
    smoothing: smoothingSchema.prefault({ kind: 'ema', alpha: 0.2 }).describe('smoothing of the valence and arousal probabilities across decisions'),
    saveModel: z.string().optional().describe('write the trained model (versioned JSON) here'),
  })
  .strict();

export type EmotionSettings = z.infer<typeof emotionSettingsSchema>;
