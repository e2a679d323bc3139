import { argmax, softmaxInPlace } from '../../src/ml/softmax.js';
import type { Decision } from '../../src/stream/decision.js';
import { IDLE, type SsvepSettings } from './settings.js';

export type SsvepDecision = Decision & { readonly command?: string; readonly scores: Readonly<Record<string, number>> };

/**
 * One decision from the targets' scores: probabilities are softmax(score / temperature); the label
 * is the top target, or "idle" (no command) when its score is below `threshold` or beats the
 * runner-up by less than `margin`.
 */
export function decide(
  scores: Float64Array,
  s: Pick<SsvepSettings, 'targets' | 'decision'>,
  at: { seq: number; timestamp: number; latencyMs: number },
  scratch: Float64Array = new Float64Array(scores.length),
): SsvepDecision {
  const top = argmax(scores);
  let second = -Infinity;
  for (let k = 0; k < scores.length; k++) if (k !== top && scores[k] > second) second = scores[k];
  const idle = scores[top] < s.decision.threshold || scores[top] - second < s.decision.margin;
  for (let k = 0; k < scores.length; k++) scratch[k] = scores[k] / s.decision.temperature;
  softmaxInPlace(scratch);
  const probabilities: Record<string, number> = {};
  const byTarget: Record<string, number> = {};
  s.targets.forEach((t, k) => {
    probabilities[t.label] = scratch[k];
    byTarget[t.label] = scores[k];
  });
  const target = s.targets[top];
  const command = idle ? undefined : target.command;
  return { ...at, label: idle ? IDLE : target.label, probabilities, scores: byTarget, ...(command ? { command } : {}) };
}
