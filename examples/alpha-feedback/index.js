// @ts-check
/**
 * Alpha neurofeedback, a pipeline plug-in written the way a user of neurorx writes one: every
 * `hop` seconds, the occipital alpha power of the last `window` seconds, as a `feedback` message
 * with a score in 0..1 (the alpha share of 4-30 Hz power). Load it from a config:
 *
 *     { "plugins": ["./index.js"], "pipeline": { "kind": "alpha-feedback" }, ... }
 *
 * It imports only the public API: `neurorx` and `neurorx/dsp`.
 */
import { concat, map, of } from 'rxjs';
import { pickChannels, slidingWindows, WelchPsd } from 'neurorx/dsp';
import { z } from 'neurorx';

const settings = z
  .object({
    kind: z.literal('alpha-feedback'),
    channels: z.array(z.string().min(1)).min(1).max(64).default(['O1', 'Oz', 'O2']).describe('occipital channels, averaged'),
    band: z.tuple([z.number().positive(), z.number().positive()]).default([8, 12]).describe('alpha band, Hz'),
    window: z.number().min(0.5).max(10).default(2).describe('seconds of signal per score'),
    hop: z.number().min(0.05).max(10).default(0.25).describe('seconds between scores'),
  })
  .strict();

const feedback = z.object({
  type: z.literal('feedback'),
  seq: z.number().int().nonnegative(),
  timestamp: z.number().describe('stream time (s) of the last sample of the window'),
  latencyMs: z.number(),
  alpha: z.number().nonnegative().describe('mean alpha power over the channels, µV²'),
  score: z.number().min(0).max(1).describe('alpha share of 4-30 Hz power: the feedback to show'),
});

/** @typedef {z.infer<typeof settings>} AlphaSettings */
/** @typedef {z.infer<typeof feedback> | { type: 'status', detail: string }} AlphaEvent */

/** @type {import('neurorx').PipelinePlugin<AlphaSettings, AlphaEvent>} */
const alphaFeedback = {
  kind: 'alpha-feedback',
  description: 'alpha neurofeedback: occipital alpha share as a feedback score',
  settings,
  messages: { feedback },
  outputs: ['feedback'],
  open: () => ({
    run(source, s) {
      const present = s.channels.filter((c) => source.info.channels.some((ch) => ch.label.toLowerCase() === c.toLowerCase()));
      if (present.length === 0) throw new Error(`alpha-feedback: none of ${s.channels.join(', ')} in the stream`);
      const rate = source.info.sampleRate;
      const welch = new WelchPsd({ sampleRate: rate, channels: present.length, nperseg: Math.round(rate), maxFrequency: 40 });
      const psd = new Float64Array(present.length * welch.bins);
      let seq = 0;
      const scores = source.chunks$.pipe(
        pickChannels({ labels: present }),
        slidingWindows({ length: s.window, hop: s.hop, view: true }),
        map(
          /** @returns {AlphaEvent} */ (w) => {
            welch.psd(w.data, w.samples, psd);
            let alpha = 0;
            let broad = 0;
            for (let c = 0; c < present.length; c++) {
              alpha += welch.bandPower(psd, c, s.band[0], s.band[1]) / present.length;
              broad += welch.bandPower(psd, c, 4, 30) / present.length;
            }
            const score = broad > 0 ? Math.min(1, alpha / broad) : 0;
            return { type: 'feedback', seq: seq++, timestamp: w.endTime, latencyMs: performance.now() - w.receivedAt, alpha, score };
          },
        ),
      );
      /** @type {AlphaEvent} */
      const started = { type: 'status', detail: `alpha feedback from ${present.join(', ')}` };
      return concat(of(started), scores);
    },
  }),
  describe: (e) => (e.type === 'status' ? { kind: 'status', state: 'running', detail: e.detail } : { kind: 'message', message: e, latencyMs: e.latencyMs }),
};

export default alphaFeedback;
