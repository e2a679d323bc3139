import { z } from 'zod';

export const ERP_DECODER_KINDS = ['erp-xdawn-lda', 'erp-xdawn-ts-lr', 'erp-vector-lda'] as const;
export type ErpDecoderKind = (typeof ERP_DECODER_KINDS)[number];

/** How each flash epoch is prepared (shared by the live pipeline, the model file and the evaluation). */
export const erpPreprocessingSchema = z
  .object({
    bandpass: z
      .object({ low: z.number().positive().max(10_000).default(1), high: z.number().positive().max(10_000).default(20), order: z.number().int().min(1).max(8).default(4) })
      .strict()
      .prefault({})
      .describe('causal Butterworth band-pass, Hz'),
    epoch: z
      .object({ tmin: z.number().min(-2).max(0).default(-0.1), tmax: z.number().positive().max(2).default(0.8) })
      .strict()
      .prefault({})
      .describe('epoch around each flash, seconds (tmax inclusive); the part before 0 is the baseline'),
    baseline: z.boolean().default(true).describe('subtract each channel’s mean over tmin..0 s'),
    reject: z.number().positive().max(1e9).nullable().default(100).describe('drop a flash whose baseline-corrected epoch exceeds ±reject µV on any channel (null: keep all)'),
    decimate: z.number().int().min(1).max(64).default(8).describe('vector features: the mean of each run of this many samples from 0 s on (256 Hz / 8 = 32 Hz)'),
  })
  .strict();

export type ErpPreprocessing = z.infer<typeof erpPreprocessingSchema>;

export const erpDecoderSpec = z
  .object({
    kind: z.enum(ERP_DECODER_KINDS).default('erp-xdawn-lda'),
    components: z.number().int().min(1).max(64).default(2).describe('xDAWN filters per class'),
  })
  .strict();

export type ErpDecoderSpec = z.infer<typeof erpDecoderSpec>;

/** The ERP session: every stimulus flash scored as target or not, and for a selection task the evidence per item. */
export const erpSettingsSchema = z
  .object({
    kind: z.literal('erp'),
    channels: z.array(z.string().min(1)).min(1).max(512).optional().describe('channels used (default: every EEG channel)'),
    preprocessing: erpPreprocessingSchema.prefault({}),
    events: z
      .object({
        targets: z.array(z.string().min(1)).min(1).default(['2']).describe('marker values of target flashes (calibration)'),
        nonTargets: z.array(z.string().min(1)).min(1).default(['1']).describe('marker values of non-target flashes (calibration)'),
      })
      .strict()
      .prefault({})
      .describe('which stimulus markers are targets and which are not (Muse P300: 2 = target, 1 = non-target)'),
    decoder: erpDecoderSpec.prefault({}),
    selection: z
      .object({
        items: z.record(z.string().min(1), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).describe('flash marker value -> the item (or items: a speller row/column) it highlights'),
        threshold: z.number().gt(0).max(1).default(0.9).describe('decide as soon as one item’s posterior reaches this (dynamic stopping)'),
        maxRepetitions: z.number().int().min(1).max(1000).default(10).describe('decide anyway once every item has flashed this many times'),
        minRepetitions: z.number().int().min(1).max(1000).default(1).describe('no decision before every item has flashed this many times'),
      })
      .strict()
      .optional()
      .describe('a selection task: accumulate each flash’s evidence per item, decide one item'),
    calibration: z
      .discriminatedUnion('from', [
        z.object({ from: z.literal('recording'), source: z.string().min(1).describe('a recording URI with target/non-target flash markers, e.g. file:run.csv') }).strict(),
        z.object({ from: z.literal('model'), path: z.string().min(1) }).strict(),
      ])
      .describe('where the decoder comes from: trained on a recording, or a model saved earlier'),
    saveModel: z.string().optional().describe('write the trained model here (JSON)'),
  })
  .strict();

export type ErpSettings = z.infer<typeof erpSettingsSchema>;
