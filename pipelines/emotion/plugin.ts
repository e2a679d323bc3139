import type { PipelinePlugin } from '../pipeline-plugin.js';
import { replayWithSavedModel } from '../saved-model.js';
import { EMOTION_DECODER_KINDS } from './emotion-decoder-spec.js';
import { evaluateEmotionCli } from './evaluate-cli.js';
import { emotionMessage, emotionMessageOf } from './messages.js';
import type { EmotionModel } from './model.js';
import { emotionModelFor, emotionPipeline, type EmotionEvent } from './pipeline.js';
import { emotionSettingsSchema, type EmotionSettings } from './settings.js';

/** Emotion: valence and arousal from band features, with a subject-independent model and the session's own resting baseline. */
export const emotionPlugin: PipelinePlugin<EmotionSettings, EmotionEvent> = {
  kind: 'emotion',
  description: 'emotion: valence and arousal estimates from band features (linear or HiSTN-like decoder)',
  settings: emotionSettingsSchema,
  messages: { emotion: emotionMessage },
  outputs: ['emotion'],
  open(first, context) {
    // The model is trained (or loaded) once; a restart only records a new baseline.
    let model: Promise<EmotionModel> | undefined;
    return {
      run(source, settings, hooks) {
        const reused = model !== undefined;
        model ??= emotionModelFor(first, context.log);
        return emotionPipeline(source, settings, { log: context.log, model, reused, ...hooks });
      },
      dispose: () =>
        void model?.then(
          (m) => m.dispose(),
          () => {},
        ),
    };
  },
  describe: (event) => (event.kind === 'emotion' ? { kind: 'message', message: emotionMessageOf(event.emotion), latencyMs: event.emotion.latencyMs } : event),
  calibrate(configured, request) {
    // The model is subject-independent: calibrating means a new resting baseline.
    if (request.action === 'stop') return { detail: 'an emotion session calibrates only its resting baseline: nothing to stop' };
    return { restart: { settings: configured, reason: 'calibration start: new resting baseline' } };
  },
  forReplay: replayWithSavedModel,
  evaluate: { decoders: EMOTION_DECODER_KINDS, run: evaluateEmotionCli },
};
