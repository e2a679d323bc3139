import type { PipelinePlugin } from '../pipeline-plugin.js';
import { evaluateSsvepCli, SSVEP_DECODERS } from './evaluate-cli.js';
import { ssvepPipeline, type SsvepEvent } from './pipeline.js';
import { ssvepSettingsSchema, type SsvepSettings } from './settings.js';

/** SSVEP: a decision every window by CCA, filter-bank CCA or TRCA, with an idle state. */
export const ssvepPlugin: PipelinePlugin<SsvepSettings, SsvepEvent> = {
  kind: 'ssvep',
  description: 'SSVEP: flicker targets decoded every window by CCA, FBCCA or TRCA, "idle" when none stands out',
  settings: ssvepSettingsSchema,
  outputs: ['decision'],
  open: () => ({ run: (source, settings, hooks) => ssvepPipeline(source, settings, hooks) }),
  describe(event) {
    if (event.kind === 'decision') return { kind: 'decision', decision: event.decision };
    return { kind: 'status', state: event.state, detail: event.detail, ...(event.classes ? { classes: event.classes } : {}) };
  },
  // CCA and FBCCA need no model; TRCA is calibrated again on the same recording, deterministically.
  forReplay: (settings) => settings,
  evaluate: { decoders: SSVEP_DECODERS, run: evaluateSsvepCli },
};
