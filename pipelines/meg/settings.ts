import { z } from 'zod';
import { megDecoderSpec } from './meg-decoder.js';

/** The live MEG image-decoding session: epochs after image-onset markers → embedding → top-k gallery images. */
export const megImageSettingsSchema = z
  .object({
    kind: z.literal('meg-image'),
    imageMarker: z.string().min(1).default('image ').describe('prefix of the onset markers; the rest of the value is the image id (e.g. "image img-007")'),
    epoch: z
      .object({ tmin: z.number().min(-10).max(0).default(-0.2), tmax: z.number().positive().max(10).default(0.8) })
      .strict()
      .prefault({})
      .describe('epoch around each onset, seconds; the part before 0 is the baseline'),
    features: z
      .object({ from: z.number().min(0).max(10).default(0), to: z.number().positive().max(10).default(0.8), bins: z.number().int().min(1).max(1000).default(40) })
      .strict()
      .prefault({})
      .describe('features: the mean of each of `bins` time bins over from..to s after the onset, per channel'),
    topK: z.number().int().min(1).max(100).default(5),
    decoder: megDecoderSpec.default({ kind: 'meg-ridge' }),
    calibration: z
      .discriminatedUnion('from', [
        z
          .object({
            from: z.literal('synthetic'),
            images: z.number().int().min(10).max(100_000).default(240),
            seed: z
              .number()
              .int()
              .min(0)
              .max(2 ** 31 - 1)
              .default(1)
              .describe('the synthetic world (gallery and forward model); the live source must be synthetic:meg with the same seed'),
          })
          .strict(),
        z.object({ from: z.literal('model'), path: z.string().min(1) }).strict(),
      ])
      .default({ from: 'synthetic', images: 240, seed: 1 }),
    saveModel: z.string().optional(),
  })
  .strict();

export type MegImageSettings = z.infer<typeof megImageSettingsSchema>;
