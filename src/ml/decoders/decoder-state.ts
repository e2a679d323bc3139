import { z } from 'zod';
import { DECODER_KINDS } from './decoder.js';
import { issueField } from '../../util/zod-issues.js';

const vector = z.array(z.number());
const matrix = z.array(vector);
const classes = z.array(z.string()).min(2);
const channels = z.number().int().min(1);
const lda = z.object({ classes, coef: matrix, intercept: vector, priors: vector });
const csp = z.object({ classes: z.tuple([z.string(), z.string()]), filters: matrix, patterns: matrix, eigenvalues: vector });
const ovrCsp = z.object({ classes, csps: z.array(csp).min(1) });
const covariance = z.object({ estimator: z.enum(['scm', 'lwf', 'oas']), recenterMean: vector.nullable() });

/** Saved decoder states, checked field by field before a decoder is rebuilt from them. */
const stateSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('csp-lda'), channels, csp: ovrCsp, lda }),
  z.object({ kind: z.literal('csp-ovr'), channels, csp: ovrCsp, lda }),
  z.object({
    kind: z.literal('fbcsp'),
    bands: z.array(z.object({ low: z.number(), high: z.number() })).min(1),
    order: z.number().int().min(1),
    bandChannels: channels,
    csps: z.array(ovrCsp).min(1),
    selected: z.array(z.number().int().min(0)).min(1),
    lda,
  }),
  z.object({ kind: z.literal('mdm'), channels, covariance, mdm: z.object({ classes, means: matrix }) }),
  z.object({ kind: z.literal('tangent-space-lr'), channels, covariance, reference: vector, lr: z.object({ classes, coef: matrix, intercept: vector }) }),
  z.object({ kind: z.literal('eegnet'), channels, samples: z.number().int().min(1), classes, model: z.string().min(1) }).passthrough(),
]);

export type SavedDecoderState = z.infer<typeof stateSchema>;

/** Validates a decoder state; the error names the first offending field. */
export function parseDecoderState(json: unknown, origin: string): SavedDecoderState {
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const kinds = DECODER_KINDS.join(', ');
    throw new Error(`${origin}: decoder.${issueField(issue, 'kind')}: ${issue.message}${issue.path[0] === 'kind' ? ` (one of ${kinds})` : ''}`);
  }
  return parsed.data;
}
