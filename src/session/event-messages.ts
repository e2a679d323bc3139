import type { EmotionEvent } from '../../pipelines/emotion/pipeline.js';
import type { MegEvent } from '../../pipelines/meg/pipeline.js';
import type { PipelineEvent } from '../../pipelines/motor-imagery/pipeline.js';
import type { PipelineOutput } from '../../pipelines/pipeline-plugin.js';
import type { OutboundMessage } from '../server/messages.js';

/** Whatever a built-in pipeline emits (a plug-in's events are its own). */
export type SessionEvent = PipelineEvent | EmotionEvent | MegEvent;

/**
 * The WebSocket message of a pipeline's output other than a status (a decision, an emotion
 * estimate, a retrieval, a cue, a plug-in's own message). Live sessions, recordings and replays
 * all use this one form, so their decision streams compare byte for byte.
 */
export function messageOf(output: Exclude<PipelineOutput, { kind: 'status' }>): OutboundMessage {
  return output.kind === 'decision' ? { type: 'decision', ...output.decision } : output.message;
}

/**
 * A decision message as one line that is the same in every run over the same samples: the JSON of
 * the message without `latencyMs` (a wall-clock measurement, the only field that depends on the
 * machine's speed).
 */
export function canonicalDecisionLine(message: OutboundMessage | Record<string, unknown>): string {
  const { latencyMs: _latency, ...rest } = message as Record<string, unknown>;
  return JSON.stringify(rest);
}
