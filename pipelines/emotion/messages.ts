import { z } from 'zod';
import type { EmotionDecision } from './pipeline.js';

const probabilities = z.record(z.string(), z.number().min(0).max(1));

const emotionAxis = z.object({
  label: z.string().describe('the most probable class after smoothing: "low"/"high", or "1".."5"'),
  score: z.number().min(-1).max(1).describe('continuous score: the expected class mapped to -1 (lowest) .. 1 (highest)'),
});

/** The `emotion` message (without the envelope's `v`): one valence/arousal estimate. */
export const emotionMessage = z.object({
  type: z.literal('emotion'),
  seq: z.number().int().nonnegative().describe('running number of the estimate, from 0'),
  timestamp: z.number().describe('stream time (s) of the last sample of the decided window'),
  latencyMs: z.number().describe('ms from that sample reaching neurorx to the estimate'),
  valence: emotionAxis.optional().describe('negative (low) .. positive (high)'),
  arousal: emotionAxis.optional().describe('calm (low) .. excited (high)'),
  probabilities: z.object({ valence: probabilities.optional(), arousal: probabilities.optional() }).describe('per target, the smoothed probability of every class'),
});

export type EmotionMessage = z.infer<typeof emotionMessage>;

/** The WebSocket form of an emotion estimate. */
export function emotionMessageOf(e: EmotionDecision): EmotionMessage {
  const axis = (a: EmotionDecision['valence']) => (a ? { label: a.label, score: a.score } : undefined);
  return {
    type: 'emotion',
    seq: e.seq,
    timestamp: e.timestamp,
    latencyMs: e.latencyMs,
    ...(e.valence ? { valence: axis(e.valence) } : {}),
    ...(e.arousal ? { arousal: axis(e.arousal) } : {}),
    probabilities: { ...(e.valence ? { valence: { ...e.valence.probabilities } } : {}), ...(e.arousal ? { arousal: { ...e.arousal.probabilities } } : {}) },
  };
}
