import { z } from 'zod';

/** The `erp-score` message (without the envelope's `v`): one stimulus flash scored. */
export const erpScoreMessage = z.object({
  type: z.literal('erp-score'),
  seq: z.number().int().nonnegative().describe('running number of the flash, from 0'),
  marker: z.string().describe('the flash marker'),
  timestamp: z.number().describe('stream time (s) of the flash'),
  latencyMs: z.number().describe('ms from the chunk completing the epoch reaching neurorx to the score'),
  rejected: z.boolean().describe('the epoch exceeded the amplitude limit: not scored'),
  score: z.number().nullable().describe('log-odds that the flash was a target (null when rejected)'),
  probability: z.number().min(0).max(1).nullable().describe('the same as a probability'),
});

/** The `erp-evidence` message: a selection task's accumulated evidence after a flash. */
export const erpEvidenceMessage = z.object({
  type: z.literal('erp-evidence'),
  seq: z.number().int().nonnegative().describe('the flash it follows'),
  timestamp: z.number(),
  posteriors: z.record(z.string(), z.number().min(0).max(1)).describe('probability of each item being the one attended'),
  repetitions: z.number().int().nonnegative().describe('fewest flashes any item has had since the last decision'),
});

export type ErpScoreMessage = z.infer<typeof erpScoreMessage>;
export type ErpEvidenceMessage = z.infer<typeof erpEvidenceMessage>;
