import type { EmotionDecoder, FitProgress, TrainingSet } from './emotion-decoder.js';
import type { EmotionDecoderSpec } from './emotion-decoder-spec.js';
import { HistnEmotionDecoder, type HistnEmotionState } from './histn-emotion-decoder.js';
import { LinearEmotionDecoder } from './linear-emotion-decoder.js';
import type { FrameLayout } from './feature-sequences.js';

/** Trains the decoder `spec` names on `set`. */
export async function fitEmotionDecoder(spec: EmotionDecoderSpec, set: TrainingSet, progress: FitProgress = {}): Promise<EmotionDecoder> {
  if (set.count === 0) throw new Error(`${spec.kind}: no training sequences`);
  switch (spec.kind) {
    case 'emotion-linear':
      return LinearEmotionDecoder.fit(spec, set);
    case 'emotion-histn':
      return HistnEmotionDecoder.fit(spec, set, progress);
  }
}

/** Rebuilds a decoder from its saved state, checked field by field and against the feature layout. */
export async function restoreEmotionDecoder(state: { kind: string }, layout: FrameLayout): Promise<EmotionDecoder> {
  switch (state.kind) {
    case 'emotion-linear':
      return LinearEmotionDecoder.restore(state, layout);
    case 'emotion-histn':
      return HistnEmotionDecoder.restore(state as HistnEmotionState, layout);
    default:
      throw new Error(`emotion decoder: unknown kind "${state.kind}" (expected emotion-linear or emotion-histn)`);
  }
}
