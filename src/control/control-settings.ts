import { z } from 'zod';
import { issueLines } from '../util/zod-issues.js';

/** How per-class probabilities are smoothed across successive decisions before thresholding. */
export const smoothingSchema = z
  .object({
    kind: z.enum(['ema', 'mean', 'none']).default('ema').describe('"ema": exponential moving average; "mean": mean of the last `window` decisions; "none": raw probabilities'),
    alpha: z.number().gt(0).max(1).default(0.3).describe('EMA weight of the newest decision, in (0, 1]; 1 = no smoothing (used when kind is "ema")'),
    window: z.number().int().min(1).max(1000).default(4).describe('decisions averaged (used when kind is "mean")'),
  })
  .strict();

/**
 * Settings of the control stage that turns a decoder's decision stream into commands. Every field
 * has a default, so `{}` is valid; but `commands` defaults to no mapping, which fires nothing.
 */
export const controlSchema = z
  .object({
    // prefault: an omitted block is parsed as {} so the inner defaults apply (and live in one place).
    smoothing: smoothingSchema.prefault({}).describe('probability smoothing across decisions'),
    threshold: z.number().min(0).max(1).default(0.6).describe('minimum smoothed probability of the top class; below it the output is the rest label'),
    margin: z.number().min(0).max(1).default(0).describe('minimum lead of the top class over the runner-up; a smaller lead gives the rest label'),
    restLabel: z.string().min(1).default('rest').describe('label output when no class is confident enough (a decoder class of this name also means rest)'),
    dwellMs: z.number().min(0).max(600_000).default(500).describe('stream time (ms, from decision timestamps) a class must stay above threshold before its command fires'),
    refractoryMs: z.number().min(0).max(600_000).default(1000).describe('stream time (ms) after a command fires during which no command fires'),
    rearm: z.enum(['rest', 'time']).default('rest').describe('"rest": the same command fires again only after a rest in between; "time": once the refractory period is over'),
    commands: z.record(z.string().min(1), z.string().min(1)).default({}).describe('class label -> command name; unmapped labels never fire'),
  })
  .strict()
  .superRefine((s, ctx) => {
    // A command on the rest label could never fire: say so instead of silently ignoring it.
    if (Object.hasOwn(s.commands, s.restLabel)) {
      ctx.addIssue({
        code: 'custom',
        path: ['commands', s.restLabel],
        message: `the rest label "${s.restLabel}" cannot be mapped to a command`,
      });
    }
  });

export type ControlSettings = z.infer<typeof controlSchema>;
export type SmoothingSettings = z.infer<typeof smoothingSchema>;

/** Raised for invalid control settings; the message names every offending field. */
export class ControlSettingsError extends Error {
  override name = 'ControlSettingsError';
}

/** Validates control settings (filling in defaults); errors list `field.path: reason` lines. */
export function parseControlSettings(input: unknown, origin = 'control'): ControlSettings {
  const result = controlSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ControlSettingsError(`${origin}: invalid settings\n${issueLines(result.error)}`);
}
