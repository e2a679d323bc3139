import type { EmotionDecision, EmotionEvent } from '../../pipelines/emotion/pipeline.js';
import type { MegEvent } from '../../pipelines/meg/pipeline.js';
import type { PipelineEvent } from '../../pipelines/motor-imagery/pipeline.js';
import type { ServerMessage } from '../server/messages.js';

/** Whatever a pipeline of any kind emits. */
export type SessionEvent = PipelineEvent | EmotionEvent | MegEvent;

/** The message types that carry a decoder's output (what a replay must reproduce). */
export const DECISION_TYPES: readonly ServerMessage['type'][] = ['decision', 'emotion', 'retrieval'];

/**
 * The WebSocket message of a decoding event (a decision, an emotion estimate, a retrieval) or of a
 * cue; undefined for status events, which the session words itself. Live sessions, recordings and
 * replays all use this one form, so their decision streams compare byte for byte.
 */
export function decodingMessage(event: SessionEvent): ServerMessage | undefined {
  switch (event.kind) {
    case 'decision':
      return { type: 'decision', ...event.decision };
    case 'emotion':
      return emotionMessageOf(event.emotion);
    case 'retrieval': {
      const r = event.retrieval;
      return { type: 'retrieval', seq: r.seq, timestamp: r.timestamp, latencyMs: r.latencyMs, shown: r.shown, topK: r.topK.map(({ id, label, score }) => ({ id, ...(label ? { label } : {}), score })) };
    }
    case 'cue':
      return { type: 'cue', label: event.label, marker: event.marker, timestamp: event.time };
    default:
      return undefined;
  }
}

/** The WebSocket form of an emotion estimate. */
function emotionMessageOf(e: EmotionDecision): ServerMessage {
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

/**
 * A decision message as one line that is the same in every run over the same samples: the JSON of
 * the message without `latencyMs` (a wall-clock measurement, the only field that depends on the
 * machine's speed).
 */
export function canonicalDecisionLine(message: ServerMessage | Record<string, unknown>): string {
  const { latencyMs: _latency, ...rest } = message as Record<string, unknown>;
  return JSON.stringify(rest);
}
