import type { PipelinePlugin } from '../pipeline-plugin.js';
import { replayWithSavedModel } from '../saved-model.js';
import { evaluateErpCli } from './evaluate-cli.js';
import { erpEvidenceMessage, erpScoreMessage } from './messages.js';
import { erpModelFor, type ErpModel } from './model.js';
import { erpPipeline, type ErpEvent } from './pipeline.js';
import { ERP_DECODER_KINDS, erpSettingsSchema, type ErpSettings } from './settings.js';

/** Evoked responses (P300 and other ERPs): every flash scored as target or not; a selection task decides an item. */
export const erpPlugin: PipelinePlugin<ErpSettings, ErpEvent> = {
  kind: 'erp',
  description: 'evoked responses (P300): a target score per stimulus flash, and for a selection task the item decided',
  settings: erpSettingsSchema,
  messages: { 'erp-score': erpScoreMessage, 'erp-evidence': erpEvidenceMessage },
  outputs: ['erp-score', 'erp-evidence', 'decision'],
  open(first, context) {
    let model: Promise<ErpModel> | undefined;
    return {
      run(source, settings, hooks) {
        model ??= erpModelFor(first, context.log);
        return erpPipeline(source, settings, model, hooks);
      },
    };
  },
  describe(event) {
    switch (event.kind) {
      case 'score':
        return { kind: 'message', message: event.score, latencyMs: event.score.latencyMs };
      case 'evidence':
        return { kind: 'message', message: event.evidence };
      case 'decision':
        return { kind: 'decision', decision: event.decision };
      default:
        return event;
    }
  },
  calibrate: () => ({ detail: 'an ERP session is calibrated from a recording or a saved model (calibration.from): nothing to do' }),
  forReplay: replayWithSavedModel,
  evaluate: { decoders: ERP_DECODER_KINDS, run: evaluateErpCli },
};
