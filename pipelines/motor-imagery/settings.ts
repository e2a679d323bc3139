import { z } from 'zod';
import { controlSchema } from '../../src/control/control-settings.js';
import { decoderSpecSchema } from '../../src/ml/decoders/decoder-spec.js';
import { cueGeneratorSchema } from '../../src/stream/cue-generator.js';

const band = z
  .object({
    low: z.number().positive().max(10_000).describe('lower cut-off, Hz'),
    high: z.number().positive().max(10_000).describe('upper cut-off, Hz'),
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
    trialsPerClass: z.number().int().min(2).max(1000).describe('cued trials of each class to collect from the live stream before training'),
    cues: z
      .enum(['stream', 'generator'])
      .default('stream')
      .describe('"stream": cue markers arrive with the signal (recorded, LSL marker stream, or WebSocket "marker" messages); "generator": neurorx cues the user itself'),
    generator: cueGeneratorSchema.prefault({}).describe('timing of the generated cues'),
    retrainEvery: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .nullable()
      .default(null)
      .describe('after calibration, retrain on all labelled trials each time this many new cued trials have arrived (null: never)'),
  }),
  z.object({
    from: z.literal('model'),
    path: z.string().min(1).describe('a model saved by an earlier calibration'),
  }),
]);

export const motorImagerySettingsSchema = z
  .object({
    kind: z.literal('motor-imagery'),
    channels: z.array(z.string().min(1)).min(2).max(4096).optional().describe('channel labels to use; default: every EEG channel'),
    reference: z.enum(['none', 'average']).default('none'),
    notch: z
      .object({ freq: z.number().positive().max(10_000), q: z.number().positive().max(1000).default(30) })
      .nullable()
      .default(null),
    bandpass: band.default({ low: 7, high: 30, order: 4 }),
    events: z
      .record(z.string(), z.string().min(1))
      .refine((e) => new Set(Object.values(e)).size >= 2, { message: 'must map cue markers to at least two classes' })
      .default({ left: 'left', right: 'right' })
      .describe('cue marker value -> class label'),
    epoch: z
      .object({ tmin: z.number().min(-60).max(60), tmax: z.number().min(-60).max(60) })
      .refine((e) => e.tmax > e.tmin, { message: 'tmax must be greater than tmin', path: ['tmax'] })
      .default({ tmin: 0.5, tmax: 2.5 })
      .describe('training epoch relative to each cue, seconds'),
    window: z
      .object({ length: z.number().positive().max(60).describe('seconds, at most 60'), hop: z.number().positive().max(60) })
      .default({ length: 2, hop: 0.25 })
      .describe('online sliding window, seconds'),
    decoder: decoderSpecSchema.default({ kind: 'csp-lda', components: 4, regularization: 0, shrinkage: 'auto' }).describe('the decoder and its hyper-parameters'),
    calibration: calibrationSchema,
    control: controlSchema.optional().describe('smoothing, threshold, dwell and refractory period that turn decisions into commands'),
    saveModel: z.string().optional().describe('write the trained model (versioned JSON) here'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const classes = new Set(Object.values(s.events)).size;
    if (s.decoder.kind === 'csp-lda' && classes !== 2) {
      ctx.addIssue({ code: 'custom', path: ['events'], message: `csp-lda handles exactly two classes, got ${classes}; use csp-ovr, fbcsp, mdm, tangent-space-lr or eegnet` });
    }
  });

export type MotorImagerySettings = z.infer<typeof motorImagerySettingsSchema>;
