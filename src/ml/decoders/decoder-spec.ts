import { z } from 'zod';
import { COVARIANCE_ESTIMATORS } from '../riemann/epoch-covariance.js';
import { firstIssue } from '../../util/zod-issues.js';

const shrinkage = z.union([z.number().min(0).max(1), z.literal('auto')]).nullable();
const estimator = z.enum(COVARIANCE_ESTIMATORS as ['scm', 'lwf', 'oas']);

/** The default FBCSP bank: 4 Hz wide bands from 4 to 40 Hz (Ang et al. 2008). */
export const DEFAULT_FILTER_BANK = Array.from({ length: 9 }, (_, i) => ({ low: 4 + 4 * i, high: 8 + 4 * i }));

/** What decoder to train, with its hyper-parameters; each field has the default a user would pick. */
export const decoderSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('csp-lda'),
      components: z.number().int().min(1).max(256).default(4).describe('CSP filters kept'),
      regularization: z
        .union([z.number().min(0).max(1), z.literal('ledoit-wolf')])
        .default(0)
        .describe('class covariance shrinkage'),
      shrinkage: shrinkage.default('auto').describe('LDA shrinkage: null, a number in [0, 1], or "auto" (Ledoit-Wolf)'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('csp-ovr'),
      components: z.number().int().min(1).max(256).default(4).describe('CSP filters per one-vs-rest problem'),
      shrinkage: shrinkage.default('auto'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('fbcsp'),
      bands: z
        .array(z.object({ low: z.number().positive().max(10_000), high: z.number().positive().max(10_000) }).strict())
        .min(1)
        .default(DEFAULT_FILTER_BANK)
        .describe('filter bank bands, Hz'),
      order: z.number().int().min(1).max(10).default(4).describe('Butterworth order of each band'),
      components: z.number().int().min(1).max(256).default(4).describe('CSP filters per band (and per one-vs-rest problem)'),
      select: z.number().int().min(1).max(4096).default(8).describe('features kept by mutual information'),
      regularization: z
        .union([z.number().min(0).max(1), z.literal('ledoit-wolf')])
        .default('ledoit-wolf')
        .describe("shrinkage of each band's class covariances (narrow bands leave few degrees of freedom per trial)"),
      shrinkage: shrinkage.default('auto'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('mdm'),
      estimator: estimator.default('oas').describe('trial covariance estimator'),
      recenter: z.boolean().default(false).describe('re-centre each session on its own mean (transfer)'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('tangent-space-lr'),
      estimator: estimator.default('oas'),
      c: z.number().positive().max(1e6).default(1).describe('inverse L2 regularisation of the logistic regression'),
      reference: z.enum(['riemann', 'euclid']).default('riemann').describe('tangent point: the Riemannian mean, or the arithmetic mean (one decomposition instead of an iteration over all trials)'),
      recenter: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      kind: z.literal('eegnet'),
      epochs: z.number().int().min(1).max(10_000).default(300).describe('training passes over the calibration trials'),
      batchSize: z.number().int().min(1).max(65_536).default(16),
      learningRate: z.number().positive().max(10).default(1e-3),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .default(42),
    })
    .strict(),
]);

export type DecoderSpec = z.infer<typeof decoderSpecSchema>;
export type DecoderSpecInput = z.input<typeof decoderSpecSchema>;

/** A spec with every default filled in, from a name or a partial object. */
export function decoderSpec(input: DecoderSpecInput | DecoderSpec['kind']): DecoderSpec {
  const raw = typeof input === 'string' ? { kind: input } : input;
  const parsed = decoderSpecSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`decoder: ${firstIssue(parsed.error, 'kind')}`);
  }
  return parsed.data;
}
