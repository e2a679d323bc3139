import { z } from 'zod';

const band = z
  .object({
    low: z.number().positive().describe('lower cut-off, Hz'),
    high: z.number().positive().describe('upper cut-off, Hz'),
    order: z.number().int().min(1).max(10).default(4).describe('Butterworth order (per band edge)'),
  })
  .refine((b) => b.high > b.low, { message: 'high must be greater than low', path: ['high'] });

export const calibrationSchema = z.discriminatedUnion('from', [
  z.object({
    from: z.literal('recording'),
    source: z.string().min(1).describe('source URI of a recording with cue markers, e.g. file:S001R04.edf'),
  }),
  z.object({
    from: z.literal('stream'),
    trialsPerClass: z.number().int().min(2).describe('cued trials of each class to collect from the live stream before training'),
  }),
  z.object({
    from: z.literal('model'),
    path: z.string().min(1).describe('a model saved by an earlier calibration'),
  }),
]);

export const motorImagerySettingsSchema = z
  .object({
    kind: z.literal('motor-imagery'),
    channels: z.array(z.string().min(1)).min(2).optional().describe('channel labels to use; default: every EEG channel'),
    reference: z.enum(['none', 'average']).default('none'),
    notch: z
      .object({ freq: z.number().positive(), q: z.number().positive().default(30) })
      .nullable()
      .default(null),
    bandpass: band.default({ low: 7, high: 30, order: 4 }),
    events: z
      .record(z.string(), z.string().min(1))
      .refine((e) => new Set(Object.values(e)).size === 2, { message: 'must map cue markers to exactly two classes' })
      .default({ left: 'left', right: 'right' })
      .describe('cue marker value -> class label'),
    epoch: z
      .object({ tmin: z.number(), tmax: z.number() })
      .refine((e) => e.tmax > e.tmin, { message: 'tmax must be greater than tmin', path: ['tmax'] })
      .default({ tmin: 0.5, tmax: 2.5 })
      .describe('training epoch relative to each cue, seconds'),
    window: z
      .object({ length: z.number().positive(), hop: z.number().positive() })
      .default({ length: 2, hop: 0.25 })
      .describe('online sliding window, seconds'),
    csp: z
      .object({
        components: z.number().int().min(1).default(4),
        regularization: z.union([z.number().min(0).max(1), z.literal('ledoit-wolf')]).default(0),
      })
      .default({ components: 4, regularization: 0 }),
    lda: z
      .object({ shrinkage: z.union([z.number().min(0).max(1), z.literal('auto')]).nullable().default('auto') })
      .default({ shrinkage: 'auto' }),
    calibration: calibrationSchema,
    saveModel: z.string().optional().describe('write the trained model (versioned JSON) here'),
  })
  .strict();

export type MotorImagerySettings = z.infer<typeof motorImagerySettingsSchema>;
