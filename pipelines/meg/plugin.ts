import type { PipelinePlugin } from '../pipeline-plugin.js';
import { replayWithSavedModel } from '../saved-model.js';
import { evaluateMegCli } from './evaluate-cli.js';
import { MEG_DECODER_KINDS } from './meg-decoder.js';
import { retrievalMessage, retrievalMessageOf } from './messages.js';
import type { MegImageModel } from './model.js';
import { megImagePipeline, megModelFor, type MegEvent } from './pipeline.js';
import { megImageSettingsSchema, type MegImageSettings } from './settings.js';

/** MEG image decoding: every image-onset epoch to an image embedding, then the top-k of a gallery. */
export const megImagePlugin: PipelinePlugin<MegImageSettings, MegEvent> = {
  kind: 'meg-image',
  description: 'MEG image decoding: each image-onset epoch to the top-k images of a gallery',
  settings: megImageSettingsSchema,
  messages: { retrieval: retrievalMessage },
  outputs: ['retrieval'],
  open(first, context) {
    let model: Promise<MegImageModel> | undefined;
    return {
      run(source, settings, hooks) {
        model ??= megModelFor(first, context.stream.channels, context.stream.sampleRate, context.log);
        return megImagePipeline(source, settings, { log: context.log, model, ...hooks });
      },
      dispose: () =>
        void model?.then(
          (m) => m.dispose(),
          () => {},
        ),
    };
  },
  describe: (event) => (event.kind === 'retrieval' ? { kind: 'message', message: retrievalMessageOf(event.retrieval), latencyMs: event.retrieval.latencyMs } : event),
  calibrate: () => ({ detail: 'a MEG image session is calibrated offline (calibration.from): nothing to do' }),
  forReplay: replayWithSavedModel,
  evaluate: { decoders: MEG_DECODER_KINDS, run: evaluateMegCli },
};
