import { z } from 'zod';

/** Emotion decoders and their hyper-parameters (config `pipeline.decoder`, `neurorx evaluate --pipeline`). */
export const emotionLinearSpec = z
  .object({
    kind: z.literal('emotion-linear'),
    classifier: z.enum(['lda', 'logistic']).default('lda').describe('shrinkage LDA or L2 logistic regression'),
    shrinkage: z
      .union([z.literal('auto'), z.number().min(0).max(1)])
      .default('auto')
      .describe('LDA covariance shrinkage ("auto": Ledoit-Wolf)'),
    c: z.number().positive().max(1e6).default(0.1).describe('logistic regression: inverse L2 strength'),
  })
  .strict();

export const emotionHistnSpec = z
  .object({
    kind: z.literal('emotion-histn'),
    embedding: z.number().int().min(2).max(32).default(8).describe('features per electrode after the input transform'),
    temporalFilters: z.number().int().min(2).max(64).default(8).describe('temporal convolution channels'),
    kernelSize: z.number().int().min(1).max(16).default(3).describe('temporal convolution width, in feature frames'),
    epochs: z.number().int().min(1).max(1000).default(40).describe('at most; training stops early when held-out subjects stop improving'),
    batchSize: z.number().int().min(1).max(65_536).default(64),
    learningRate: z.number().positive().max(10).default(0.01),
    ordinalSigma: z.number().min(0).max(10).default(0.5).describe('label smoothing: spread (in rating levels) of the soft target around the true level'),
    labelSmoothing: z.number().min(0).max(0.5).default(0.1).describe('label smoothing: uniform share of the target'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
  })
  .strict();

export const emotionDecoderSpec = z.discriminatedUnion('kind', [emotionLinearSpec, emotionHistnSpec]);
export type EmotionDecoderSpec = z.infer<typeof emotionDecoderSpec>;
export type EmotionDecoderKind = EmotionDecoderSpec['kind'];
export const EMOTION_DECODER_KINDS: readonly EmotionDecoderKind[] = ['emotion-linear', 'emotion-histn'];
