import { DECODER_KINDS } from '../../src/ml/decoders/decoder.js';
import type { PipelinePlugin } from '../pipeline-plugin.js';
import { replayWithSavedModel } from '../saved-model.js';
import { evaluateMotorImageryCli } from './evaluate-cli.js';
import { motorImageryPipeline, type PipelineEvent } from './pipeline.js';
import { calibrationSchema, motorImagerySettingsSchema, type MotorImagerySettings } from './settings.js';

/** Trials per class when a client starts calibration without saying, and the config has no number. */
const DEFAULT_TRIALS_PER_CLASS = 10;

/** Motor imagery: cued trials calibrate a decoder (CSP, Riemannian, EEGNet), then every window is classified. */
export const motorImageryPlugin: PipelinePlugin<MotorImagerySettings, PipelineEvent> = {
  kind: 'motor-imagery',
  description: 'motor imagery: cued calibration, then a decision (and commands) every window',
  settings: motorImagerySettingsSchema,
  outputs: ['decision'],
  open: () => ({ run: (source, settings, hooks) => motorImageryPipeline(source, settings, hooks) }),
  describe(event) {
    switch (event.kind) {
      case 'decision':
        return { kind: 'decision', decision: event.decision };
      case 'cue':
        return { kind: 'message', message: { type: 'cue', label: event.label, marker: event.marker, timestamp: event.time } };
      default:
        return event;
    }
  },
  calibrate(configured, request) {
    if (request.action === 'stop') return { detail: 'calibration stopped: back to the configured decoder', restart: { settings: configured, reason: 'calibration stop' } };
    const c = configured.calibration;
    const trialsPerClass = request.trialsPerClass ?? (c.from === 'stream' ? c.trialsPerClass : DEFAULT_TRIALS_PER_CLASS);
    const calibration = calibrationSchema.parse(c.from === 'stream' ? { ...c, trialsPerClass } : { from: 'stream', trialsPerClass });
    return { restart: { settings: { ...configured, calibration, saveModel: undefined }, reason: 'calibration start' } };
  },
  forReplay(settings, modelPath, origin) {
    if (modelPath) return replayWithSavedModel(settings, modelPath);
    if (settings.calibration.from === 'stream') {
      throw new Error(`${origin}: the live session calibrated on its own stream but no model was recorded (it never finished calibrating); nothing to replay`);
    }
    return settings; // calibration from a recording: trained again, deterministically
  },
  evaluate: { decoders: DECODER_KINDS, run: evaluateMotorImageryCli },
};
