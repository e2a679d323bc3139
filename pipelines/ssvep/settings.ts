import { z } from 'zod';

const bandSchema = z
  .object({
    low: z.number().positive().max(10_000).describe('lower cut-off, Hz'),
    high: z.number().positive().max(10_000).describe('upper cut-off, Hz'),
  })
  .refine((b) => b.high > b.low, { message: 'high must be greater than low', path: ['high'] });

const targetSchema = z
  .object({
    label: z
      .string()
      .min(1)
      .refine((l) => l !== IDLE, { message: '"idle" is the no-control state, not a target label' })
      .describe('class label of the target (the decision label)'),
    frequency: z.number().positive().max(1000).describe('flicker frequency, Hz'),
    marker: z.string().min(1).optional().describe('stimulus marker value of this target (TRCA calibration, stimulus-locked windows)'),
    command: z.string().min(1).optional().describe('command sent when this target is decided'),
  })
  .strict();

export const decoderSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cca') }).strict(),
  z
    .object({
      kind: z.literal('fbcca'),
      bands: z.array(bandSchema).min(1).max(16).optional().describe('sub-bands; default n·(lowest target frequency) − 2 Hz up to bandpass.high, for n = 1..subBands'),
      subBands: z.number().int().min(1).max(16).default(3).describe('sub-bands when "bands" is not given'),
      a: z.number().min(0).max(10).default(1.25).describe('sub-band weight n^-a + b: exponent'),
      b: z.number().min(0).max(10).default(0.25).describe('sub-band weight n^-a + b: offset'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('trca'),
      ensemble: z.boolean().default(true).describe('ensemble TRCA: every target filter applied to every target'),
      calibration: z
        .object({ from: z.literal('recording'), source: z.string().min(1).describe("source URI of a recording with the targets' stimulus markers") })
        .strict()
        .describe('where the calibration trials come from (stimulus-locked windows after each target marker)'),
    })
    .strict(),
]);

/** The decision label when no target stands out. */
export const IDLE = 'idle';

export const ssvepSettingsSchema = z
  .object({
    kind: z.literal('ssvep'),
    channels: z.array(z.string().min(1)).min(1).max(4096).optional().describe('channel labels to use; default: every EEG channel'),
    notch: z
      .object({ freq: z.number().positive().max(10_000), q: z.number().positive().max(1000).default(30) })
      .nullable()
      .default(null)
      .describe('mains notch (a harmonic of the targets at the mains frequency otherwise wins)'),
    bandpass: bandSchema
      .safeExtend({ order: z.number().int().min(1).max(10).default(4).describe('Butterworth order') })
      .default({ low: 6, high: 45, order: 4 })
      .describe('causal band-pass before CCA/TRCA; FBCCA uses its sub-bands instead'),
    targets: z
      .array(targetSchema)
      .min(2)
      .max(64)
      .refine((t) => new Set(t.map((x) => x.label)).size === t.length, { message: 'target labels must be distinct' })
      .refine((t) => new Set(t.map((x) => x.frequency)).size === t.length, { message: 'target frequencies must be distinct' })
      .describe('the flickering targets'),
    harmonics: z.number().int().min(1).max(10).default(2).describe('harmonics in the reference sinusoids (CCA, FBCCA)'),
    window: z
      .object({
        length: z.number().min(0.25).max(30).default(2).describe('seconds of signal per decision'),
        hop: z.number().positive().max(30).default(0.25).describe('seconds between decisions (sliding windows)'),
        align: z.enum(['sliding', 'stimulus']).default('sliding').describe('"sliding": a decision every hop; "stimulus": one decision per target marker, on the window that starts at it'),
      })
      .strict()
      .prefault({})
      .describe('decision windows'),
    decoder: decoderSchema.prefault({ kind: 'cca' }).describe('cca, fbcca or trca'),
    decision: z
      .object({
        temperature: z.number().positive().max(100).default(0.05).describe('softmax temperature turning scores into probabilities'),
        threshold: z.number().min(0).max(1).default(0).describe('idle unless the top score reaches this'),
        margin: z.number().min(0).max(1).default(0).describe('idle unless the top score beats the runner-up by this much'),
      })
      .strict()
      .prefault({})
      .describe('probabilities and the idle (no-control) state'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.decoder.kind === 'trca' && s.targets.some((t) => t.marker === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'trca calibrates on stimulus markers: every target needs "marker"' });
    }
    if (s.window.align === 'stimulus' && s.targets.some((t) => t.marker === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['window', 'align'], message: 'stimulus-locked windows need "marker" on every target' });
    }
    const markers = s.targets.flatMap((t) => (t.marker === undefined ? [] : [t.marker]));
    if (new Set(markers).size !== markers.length) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'target markers must be distinct' });
  });

export type SsvepSettings = z.infer<typeof ssvepSettingsSchema>;
export type SsvepDecoderSettings = SsvepSettings['decoder'];
